// A small client of the Floyo backend's API, type-checked against the generated examples/floyo/types.
import { PostgrestClient } from "@supabase/postgrest-js"
import type { Database, Tables, TablesInsert, TablesUpdate } from "./database.js"

const db = new PostgrestClient<Database>("http://127.0.0.1:3000")

export async function check(): Promise<void> {
  // A table's Row: path may be null, meta is JSON.
  const { data: events } = await db.from("telemetry_events").select("id, type, app, path, meta").limit(5)
  const type: string | undefined = events?.[0]?.type
  const path: string | null | undefined = events?.[0]?.path
  const event: Tables<"telemetry_events"> | null = null

  // An Insert: the identity id and the generated file_extension are never written; user_id defaults to auth.uid().
  const file: TablesInsert<"file_events"> = { file_path: "src/app.ts", tool: "vscode" }
  await db.from("file_events").insert(file)

  // An Update of the user's own privacy settings.
  const settings: TablesUpdate<"privacy_settings"> = { retention_days: 30, monitoring_enabled: false }
  await db.from("privacy_settings").update(settings).eq("user_id", "d3e00000-0000-4000-8000-000000000001")

  // rpc: the routes' functions, with and without arguments.
  const { data: health } = await db.rpc("health")
  const { data: stats } = await db.rpc("stats", { days_back: "7" })

  console.log(type, path, event, health, stats)
}
