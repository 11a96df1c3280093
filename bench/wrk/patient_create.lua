-- carecoord: POST /api/v1/patients (register a patient), rotating over the tenants.
-- BENCH_TOKENS_FILE: one token per line (a coordinator of each tenant).
-- BENCH_RUN_ID: makes this run's MRNs new (an MRN taken in the tenant would be a 409, counted as an error).
-- bench/wrk/report.lua is appended by bench/loadgen.py (status counts and the JSON line).
local path = os.getenv("BENCH_TOKENS_FILE")
if path == nil or path == "" then error("BENCH_TOKENS_FILE is not set") end
local tokens = {}
for line in io.lines(path) do
  local token = line:match("^(%S+)")
  if token then tokens[#tokens + 1] = "Bearer " .. token end
end
if #tokens == 0 then error("no tokens in " .. path) end
local run = os.getenv("BENCH_RUN_ID") or tostring(os.time())

local next_thread = 0
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

local counter = 0
local me = 0
function init(args)
  me = thread_index or 0
end

function request()
  counter = counter + 1
  local i = ((counter + me * 7919) % #tokens) + 1
  local body = string.format(
    '{"mrn":"W%s-%d-%d","given_name":"Bench","family_name":"Create%d","birth_date":"1970-01-01",' ..
    '"phone":"+15550100%03d"}',
    run, me, counter, counter, counter % 1000)
  return wrk.format("POST", "/api/v1/patients",
    {["Authorization"] = tokens[i], ["Content-Type"] = "application/json", ["Accept"] = "application/json"}, body)
end
