-- carecoord: GET /api/v1/patients/{id}, each request as the coordinator of the patient's tenant.
-- BENCH_TOKENS_FILE: "token patient_id" lines (bench/workloads.py writes them round-robin over the
-- tenants); each thread starts at its own offset and rotates through all of them.
-- bench/wrk/report.lua is appended by bench/loadgen.py (status counts and the JSON line).
local path = os.getenv("BENCH_TOKENS_FILE")
if path == nil or path == "" then error("BENCH_TOKENS_FILE is not set") end
local tokens, values = {}, {}
for line in io.lines(path) do
  local token, value = line:match("^(%S+)%s+(%S+)$")
  if token then
    tokens[#tokens + 1] = "Bearer " .. token
    values[#values + 1] = value
  end
end
if #tokens == 0 then error("no 'token patient_id' lines in " .. path) end

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
  local i = (position % #tokens) + 1
  return wrk.format("GET", "/api/v1/patients/" .. values[i],
    {["Authorization"] = tokens[i], ["Accept"] = "application/json"})
end
