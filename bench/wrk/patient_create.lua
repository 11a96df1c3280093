-- carecoord: POST /api/v1/patients (register a patient), rotating over the tenants.
-- BENCH_TOKENS_FILE: one token per line (a coordinator of each tenant).
-- BENCH_RUN_ID: makes this run's MRNs new (an MRN taken in the tenant would be a 409, counted as an error).
-- Threads number themselves in rotation.lua (thread_index), which also reads the token file.
local rows = lines_of("BENCH_TOKENS_FILE", "^(%S+)", "token")
local tokens = {}
for i, row in ipairs(rows) do tokens[i] = "Bearer " .. row[1] end
local run = os.getenv("BENCH_RUN_ID") or tostring(os.time())

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
