-- wrk script of the click ingest figures (bench/ingest.sh runs it):
--   wrk -t2 -c64 -d10s -s ingest.lua http://127.0.0.1:PORT -- MODE TOKENS_FILE [BATCH_SIZE | MAX_ID]
-- MODE: track (POST /track, one event), batch (POST /track/batch, BATCH_SIZE events), get (GET /feature_clicks?id=eq.N,
-- N random in 1..MAX_ID: one row by primary key, the click app's counterpart of the A/B harness's get_event).
-- TOKENS_FILE: one JWT per line; each request takes one at random (the seed's 55 users).
-- Every event has a fresh random event id (a version-4 UUID), so nothing is skipped as a duplicate.
-- done() prints one line: INGEST_RESULT key=value ...

local mode, batch_size, max_id
local tokens = {}
local features = { "date_picker", "filter_age", "filter_gender", "chart_bar", "bar_chart_zoom", "line_chart_hover" }
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  for line in io.lines(args[2]) do
    if #line > 0 then table.insert(tokens, line) end
  end
  batch_size = tonumber(args[3] or "100")
  max_id = tonumber(args[3] or "1")
  math.randomseed(os.time() * 1000 + (id or 0) * 7919 + math.floor(os.clock() * 1e6))
end

local function uuid()
  return string.format("%08x-%04x-4%03x-%04x-%06x%06x", math.random(0, 0xffffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), 0x8000 + math.random(0, 0x3fff), math.random(0, 0xffffff), math.random(0, 0xffffff))
end

local function event()
  return '{"feature_name":"' .. features[math.random(1, #features)] .. '","event_id":"' .. uuid() .. '"}'
end

function request()
  local headers = { ["Authorization"] = "Bearer " .. tokens[math.random(1, #tokens)] }
  if mode == "get" then
    return wrk.format("GET", "/feature_clicks?id=eq." .. math.random(1, max_id), headers)
  end
  headers["Content-Type"] = "application/json"
  if mode == "track" then
    return wrk.format("POST", "/track", headers, event())
  end
  local events = {}
  for i = 1, batch_size do events[i] = event() end
  return wrk.format("POST", "/track/batch", headers, "[" .. table.concat(events, ",") .. "]")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "INGEST_RESULT requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d " ..
    "p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
