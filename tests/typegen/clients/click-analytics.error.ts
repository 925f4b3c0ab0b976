// The client with one deliberate type error: tsc must reject it (feature_clicks.id is a number).
import { PostgrestClient } from "@supabase/postgrest-js"
import type { Database } from "./database.js"

const db = new PostgrestClient<Database>("http://127.0.0.1:3000")

export async function check(): Promise<void> {
  const { data } = await db.from("feature_clicks").select("*")
  const id: string | undefined = data?.[0]?.id
  console.log(id)
}
