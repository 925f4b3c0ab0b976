// The client with one deliberate type error: tsc must reject it (completion_time_ms is a number).
import { PostgrestClient } from "@supabase/postgrest-js"
import type { Database } from "./database.js"

const db = new PostgrestClient<Database>("http://127.0.0.1:3000")

export async function check(): Promise<void> {
  await db.from("completions").insert({ completion_time_ms: "fast", username: "ann", variant: "A" })
}
