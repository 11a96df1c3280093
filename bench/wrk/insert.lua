-- Bare litestar + asyncpg insert: POST /insert with a small JSON body (a patient-sized row).
-- bench/wrk/report.lua is appended by bench/loadgen.py (status counts and the JSON line).
local counter = 0

function request()
  counter = counter + 1
  local body = string.format(
    '{"given_name":"Bench","family_name":"Insert%d","birth_date":"1970-01-01","phone":"+15550100%03d"}',
    counter, counter % 1000)
  return wrk.format("POST", "/insert", {["Content-Type"] = "application/json"}, body)
end
