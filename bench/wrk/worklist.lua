-- carecoord: GET /api/v1/worklist?mine=true (the coordinator's open tasks, due first), rotating over tenants.
-- BENCH_TOKENS_FILE: one token per line (the coordinator of each tenant owns its tasks).
-- BENCH_WORKLIST_LIMIT: page size (50).
local rows = lines_of("BENCH_TOKENS_FILE", "^(%S+)", "token")
for _, row in ipairs(rows) do row[1] = "Bearer " .. row[1] end
local target = "/api/v1/worklist?mine=true&limit=" .. (os.getenv("BENCH_WORKLIST_LIMIT") or "50")

function request()
  return wrk.format("GET", target, {["Authorization"] = rows[next_row(#rows)][1], ["Accept"] = "application/json"})
end
