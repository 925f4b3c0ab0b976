// The client with one deliberate type error: tsc must reject it (file_extension is generated: never inserted).
import { PostgrestClient } from "@supabase/postgrest-js"
import type { Database } from "./database.js"

const db = new PostgrestClient<Database>("http://127.0.0.1:3000")

export async function check(): Promise<void> {
  await db.from("file_events").insert({ file_path: "src/app.ts", tool: "vscode", file_extension: "ts" })
}
