// A small client of the click analytics API, type-checked against the generated examples/click-analytics/types.
import { PostgrestClient } from "@supabase/postgrest-js"
import type { Database, Tables, TablesInsert } from "./database.js"

const db = new PostgrestClient<Database>("http://127.0.0.1:3000")

export async function check(): Promise<void> {
  // A table's Row, and an embedding through its foreign key to profiles.
  const { data: clicks } = await db.from("feature_clicks").select("id, feature_name, profiles(id)").limit(5)
  const feature: string | undefined = clicks?.[0]?.feature_name
  const click: Tables<"feature_clicks"> | null = null

  // An Insert: the defaulted columns may be left out.
  const row: TablesInsert<"feature_clicks"> = { feature_name: "search" }
  await db.from("feature_clicks").insert(row)

  // This API has no views; rpc with arguments.
  const { data: tracked } = await db.rpc("track", { feature_name: "search" })
  const { data: report } = await db.rpc("analytics", { start_date: "2024-01-01", gender: "f" })

  console.log(feature, click, tracked, report)
}
