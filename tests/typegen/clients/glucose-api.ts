// A small client of the glucose API, type-checked against the generated examples/glucose-api/types.
import { PostgrestClient } from "@supabase/postgrest-js"
import type { Database, Tables, TablesInsert } from "./database.js"

const db = new PostgrestClient<Database>("http://127.0.0.1:3000")

export async function check(): Promise<void> {
  // A table's Row and an Insert (query_id is an identity column: never inserted).
  const { data: results } = await db.from("query_results").select("*").limit(5)
  const query: string | undefined = results?.[0]?.query
  const row: TablesInsert<"query_results"> = { query: "select 1" }
  await db.from("query_results").insert(row)

  // A view: reading_date and reading_count are proven NOT NULL through the mart it reads.
  const { data: days } = await db.from("glucose_daily_summary").select("reading_date, reading_count, avg_glucose_mg_dl")
  const day: string | undefined = days?.[0]?.reading_date
  const count: number | undefined = days?.[0]?.reading_count
  const avg: number | null | undefined = days?.[0]?.avg_glucose_mg_dl
  const summary: Tables<"glucose_daily_summary"> | null = null

  // rpc with arguments.
  const { data: stats } = await db.rpc("glucose_statistics", { period_days: 30 })
  const { data: readings } = await db.rpc("readings", { start_date: "2024-01-01", row_limit: 10 })

  console.log(query, day, count, avg, summary, stats, readings)
}
