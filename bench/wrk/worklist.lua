-- carecoord: GET /api/v1/worklist?mine=true (the coordinator's open tasks, due first), rotating over tenants.
-- BENCH_TOKENS_FILE: one token per line (the coordinator of each tenant owns its tasks).
-- BENCH_WORKLIST_LIMIT: page size (50).
-- bench/wrk/report.lua is appended by bench/loadgen.py (status counts and the JSON line).
local path = os.getenv("BENCH_TOKENS_FILE")
if path == nil or path == "" then error("BENCH_TOKENS_FILE is not set") end
local tokens = {}
for line in io.lines(path) do
  local token = line:match("^(%S+)")
  if token then tokens[#tokens + 1] = "Bearer " .. token end
end
if #tokens == 0 then error("no tokens in " .. path) end
local target = "/api/v1/worklist?mine=true&limit=" .. (os.getenv("BENCH_WORKLIST_LIMIT") or "50")

local next_thread = 0
function setup(thread)
  thread:set("offset", next_thread * 7919)
  next_thread = next_thread + 1
end

local position = 0
function init(args)
  position = offset or 0
end

function request()
  position = position + 1
  return wrk.format("GET", target, {["Authorization"] = tokens[(position % #tokens) + 1],
    ["Accept"] = "application/json"})
end
