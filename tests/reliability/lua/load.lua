-- wrk script for the reliability suite (tests/reliability/common.py: wrk()).
-- Environment: RELIABILITY_PATH (request path), RELIABILITY_MODE ("read": GET, "write": POST an insert that commits
-- and returns the new id), RELIABILITY_DELAY_MS (pause per connection between requests: paces the load),
-- RELIABILITY_WRK_OUT (where done() writes the JSON summary: counts per status, per "second:status", 503s without
-- Retry-After, and in write mode the ids of the acknowledged inserts).
local path = os.getenv("RELIABILITY_PATH") or "/"
local mode = os.getenv("RELIABILITY_MODE") or "read"
local delay_ms = tonumber(os.getenv("RELIABILITY_DELAY_MS") or "0")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts, buckets, ids, no_retry_after = {}, {}, {}, 0
  if mode == "write" then
    wrk.method = "POST"
    wrk.body = '{"client":"wrk"}'
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Prefer"] = "tx=commit, return=representation"
  end
  req = wrk.format(nil, path)
end

function request()
  return req
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function response(status, headers, body)
  local s = tostring(status)
  -- An unexpected exception (PGRSTX00) is counted apart: the suite reports those from the server log.
  if status == 500 and body:find('"PGRSTX00"', 1, true) then
    s = "500-PGRSTX00"
  end
  counts[s] = (counts[s] or 0) + 1
  -- Flat tables only: wrk's thread:get() cannot copy nested ones.
  local key = os.time() .. ":" .. s
  buckets[key] = (buckets[key] or 0) + 1
  if status == 503 and not (headers["Retry-After"] or headers["retry-after"]) then
    no_retry_after = no_retry_after + 1
  end
  if mode == "write" and status == 201 then
    local id = body:match('"id"%s*:%s*(%d+)')
    if id then
      ids[#ids + 1] = id
    end
  end
end

local function add_into(dst, src)
  for k, v in pairs(src) do
    dst[k] = (dst[k] or 0) + v
  end
end

local function json_counts(t)
  local parts = {}
  for k, v in pairs(t) do
    parts[#parts + 1] = string.format('"%s":%d', k, v)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local all_counts, all_buckets, all_ids, missing = {}, {}, {}, 0
  for _, thread in ipairs(threads) do
    add_into(all_counts, thread:get("counts"))
    add_into(all_buckets, thread:get("buckets"))
    for _, id in ipairs(thread:get("ids")) do
      all_ids[#all_ids + 1] = id
    end
    missing = missing + thread:get("no_retry_after")
  end
  local out = io.open(os.getenv("RELIABILITY_WRK_OUT"), "w")
  out:write(string.format(
    '{"counts":%s,"per_second":%s,"no_retry_after":%d,"ids":[%s],"requests":%d,"p50_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f}',
    json_counts(all_counts), json_counts(all_buckets), missing, table.concat(all_ids, ","), summary.requests,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  out:close()
end
