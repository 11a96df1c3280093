-- carecoord: GET /api/v1/patients?q=<name prefix>, as the coordinator of the tenant searched.
-- BENCH_TOKENS_FILE: "token prefix" lines (five letters of a family name of that tenant's patients,
-- round-robin over the tenants); each thread starts at its own offset (rotation.lua).
local rows = lines_of("BENCH_TOKENS_FILE", "^(%S+)%s+(%S+)$", "'token prefix'")
for _, row in ipairs(rows) do row[1] = "Bearer " .. row[1] end

function request()
  local row = rows[next_row(#rows)]
  return wrk.format("GET", "/api/v1/patients?q=" .. row[2],
    {["Authorization"] = row[1], ["Accept"] = "application/json"})
end
