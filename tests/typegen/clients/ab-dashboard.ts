// A small client of the A/B dashboard's API, type-checked against the generated examples/ab-dashboard/types.
import { PostgrestClient } from "@supabase/postgrest-js"
import type { Database, Tables, TablesInsert } from "./database.js"

const db = new PostgrestClient<Database>("http://127.0.0.1:3000")

export async function check(): Promise<void> {
  // A table's Row: a NOT NULL column is a plain number.
  const { data: completions } = await db.from("completions").select("*").limit(5)
  const first: Tables<"completions"> | undefined = completions?.[0]
  const ms: number | undefined = first?.completion_time_ms

  // An Insert: defaulted columns (id, created_at) may be left out.
  const row: TablesInsert<"completions"> = { completion_time_ms: 1234, username: "ann", variant: "A" }
  await db.from("completions").insert(row)

  // A view: the funnel's columns are aggregates, nullable.
  const { data: funnel } = await db.from("v_conversion_funnel").select("variant, conversion_rate")
  const rate: number | null | undefined = funnel?.[0]?.conversion_rate

  // A materialized view column PostgreSQL proves NOT NULL is typed without null.
  const { data: stats } = await db.from("mv_variant_stats").select("*")

  // rpc: arguments and a returns-table result.
  const { data: leaders } = await db.rpc("leaderboard", { variant: "A", limit_count: 10 })
  const name: string | null | undefined = leaders?.[0]?.username
  const { data: id } = await db.rpc("log_analytics_run", { job_name: "check", status: "ok" })
  const runId: number | null = id

  console.log(ms, rate, stats, name, runId)
}
