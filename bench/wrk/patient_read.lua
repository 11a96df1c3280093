-- carecoord: GET /api/v1/patients/{id}, each request as the coordinator of the patient's tenant.
-- BENCH_TOKENS_FILE: "token patient_id" lines (bench/workloads.py writes them round-robin over the
-- tenants); each thread starts at its own offset and rotates through all of them (rotation.lua).
local rows = lines_of("BENCH_TOKENS_FILE", "^(%S+)%s+(%S+)$", "'token patient_id'")
for _, row in ipairs(rows) do row[1] = "Bearer " .. row[1] end

function request()
  local row = rows[next_row(#rows)]
  return wrk.format("GET", "/api/v1/patients/" .. row[2],
    {["Authorization"] = row[1], ["Accept"] = "application/json"})
end
