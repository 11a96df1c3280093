-- Bare litestar + asyncpg key lookup: GET /lookup/{id}, rotating through BENCH_IDS_FILE
-- (one id per line, written by bench/baselines.py), each thread from its own offset (rotation.lua).
local rows = lines_of("BENCH_IDS_FILE", "^(%S+)$", "id")
local prefix = os.getenv("BENCH_LOOKUP_PREFIX") or "/lookup/"

function request()
  return wrk.format("GET", prefix .. rows[next_row(#rows)][1])
end
