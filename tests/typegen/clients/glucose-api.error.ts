// The client with one deliberate type error: tsc must reject it (avg_glucose_mg_dl can be null).
import { PostgrestClient } from "@supabase/postgrest-js"
import type { Database } from "./database.js"

const db = new PostgrestClient<Database>("http://127.0.0.1:3000")

export async function check(): Promise<void> {
  const { data } = await db.from("glucose_daily_summary").select("avg_glucose_mg_dl")
  const avg: number | undefined = data?.[0]?.avg_glucose_mg_dl
  console.log(avg)
}
