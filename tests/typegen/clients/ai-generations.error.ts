// The client with one deliberate type error: tsc must reject it (generation_daily.success_rate can be null).
import { PostgrestClient } from "@supabase/postgrest-js"
import type { Database } from "./database.js"

const db = new PostgrestClient<Database>("http://127.0.0.1:3000")

export async function check(): Promise<void> {
  const { data } = await db.from("generation_daily").select("success_rate")
  const rate: number | undefined = data?.[0]?.success_rate
  console.log(rate)
}
