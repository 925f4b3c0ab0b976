-- wrk script for the glucose API's old URLs (bench/load.sh runs it):
--   wrk -t2 -c50 -d60s -s load.lua http://127.0.0.1:3000 -- SCENARIO TOKENS_FILE LAST_DATE
-- SCENARIO: mixed (readings, daily summary, statistics, user/me in turn) | statistics
-- TOKENS_FILE: one JWT per line; each request takes one at random (many users, as many clients would be).
-- done() prints one line: LOAD_RESULT key=value ...

local paths = {}
local tokens = {}
local scenario

function init(args)
  scenario = args[1]
  for line in io.lines(args[2]) do
    if #line > 0 then table.insert(tokens, line) end
  end
  local last = args[3]
  if scenario == "statistics" then
    paths = { "/api/v1/glucose/statistics?period=30d" }
  else
    paths = {
      "/api/v1/glucose/readings?limit=30",
      "/api/v1/glucose/daily-summary?date=" .. last,
      "/api/v1/glucose/statistics?period=7d",
      "/api/v1/metadata/user/me",
    }
  end
  math.randomseed(os.time() + math.random(1, 100000))
end

local n = 0
function request()
  n = n + 1
  local path = paths[(n % #paths) + 1]
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. tokens[math.random(1, #tokens)] })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "LOAD_RESULT requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d " ..
    "p50_us=%d p95_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
