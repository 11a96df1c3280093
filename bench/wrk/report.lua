-- Appended by bench/loadgen.py to every scenario script (scenarios need not include it).
-- It counts responses by status in every thread (wrapping the scenario's setup() and response()
-- when it has them) and defines done(), which prints ONE line:
--   BENCH_WRK_JSON {"requests":..,"duration_us":..,"latency_us":{"p50":..},"statuses":{"200":..},..}
-- Loading it twice (a scenario that also dofile()s it) is harmless.

__bench_own = __bench_own or {}
__bench_threads = __bench_threads or {}
__bench_statuses = __bench_statuses or {}

if setup == nil or not __bench_own[setup] then
  local scenario_setup = setup
  setup = function(thread)
    table.insert(__bench_threads, thread)
    if scenario_setup then scenario_setup(thread) end
  end
  __bench_own[setup] = true
end

if response == nil or not __bench_own[response] then
  local scenario_response = response
  response = function(status, headers, body)
    __bench_statuses[status] = (__bench_statuses[status] or 0) + 1
    if scenario_response then scenario_response(status, headers, body) end
  end
  __bench_own[response] = true
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(__bench_threads) do
    local counted = thread:get("__bench_statuses")
    if type(counted) == "table" then
      for status, n in pairs(counted) do
        local key = tostring(math.floor(tonumber(status)))
        codes[key] = (codes[key] or 0) + n
      end
    end
  end
  local parts = {}
  for status, n in pairs(codes) do
    table.insert(parts, string.format('"%s":%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%.1f,"p95":%.1f,"p99":%.1f,"mean":%.1f,"max":%.1f},"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max,
    table.concat(parts, ",")))
end
