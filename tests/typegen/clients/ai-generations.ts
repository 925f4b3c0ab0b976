// A small client of the AI generations API, type-checked against the generated examples/ai-generations/types.
import { PostgrestClient } from "@supabase/postgrest-js"
import type { Database, Tables, TablesInsert } from "./database.js"

const db = new PostgrestClient<Database>("http://127.0.0.1:3000")

export async function check(): Promise<void> {
  // A table's Row, and an embedding of a generation's attempts through generation_logs' foreign key.
  const { data: generations } = await db.from("generations").select("id, prompt, ai_status, result_text, generation_logs(attempt, status)").limit(5)
  const prompt: string | undefined = generations?.[0]?.prompt
  const text: string | null | undefined = generations?.[0]?.result_text
  const generation: Tables<"generations"> | null = null

  // An Insert: only the prompt is required.
  const row: TablesInsert<"generations"> = { prompt: "a cat in a hat" }
  await db.from("generations").insert(row)

  // A view: completed is proven NOT NULL (a count), the rates may be null.
  const { data: days } = await db.from("generation_daily").select("day, completed, success_rate")
  const completed: number | undefined = days?.[0]?.completed
  const rate: number | null | undefined = days?.[0]?.success_rate

  // rpc with arguments.
  const { data: session } = await db.rpc("login", { email: "demo@example.com", password: "demo-password" })
  const { data: queued } = await db.rpc("request_generation", { prompt: "a cat", params: { size: "512x512" } })

  console.log(prompt, text, generation, completed, rate, session, queued)
}
