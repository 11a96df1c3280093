-- Bare litestar + asyncpg key lookup: GET /lookup/{id}, rotating through BENCH_IDS_FILE
-- (one id per line, written by bench/baselines.py), each thread from its own offset.
-- bench/wrk/report.lua is appended by bench/loadgen.py (status counts and the JSON line).
local path = os.getenv("BENCH_IDS_FILE")
if path == nil or path == "" then
  error("BENCH_IDS_FILE is not set")
end
local ids = {}
for line in io.lines(path) do
  if line ~= "" then ids[#ids + 1] = line end
end
if #ids == 0 then
  error("no ids in " .. path)
end

local prefix = os.getenv("BENCH_LOOKUP_PREFIX") or "/lookup/"
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
  return wrk.format("GET", prefix .. ids[(position % #ids) + 1])
end
