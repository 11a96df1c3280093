-- carecoord: POST /api/v1/referrals/{id}/transitions, a legal move each time: a referral in "sent"
-- goes on hold (with a reason), and on the thread's next pass back to "sent" (the resume a hold allows).
-- BENCH_TOKENS_FILE: "token referral_id" lines of referrals that are all in "sent" when the run starts
-- (bench/workloads.py resets them before each run). BENCH_WRK_THREADS: wrk's thread count.
-- Each thread owns every BENCH_WRK_THREADS-th referral, so no two threads move the same one, and comes
-- back to a referral only after all its others (far more than its connections), when the answer to the
-- previous move has arrived. The next move follows the status in that answer (a Referral: id,
-- patient_id, status first), not a count of requests: wrk calls request() once more than it sends
-- (to check the request), and a failed move must not put the thread out of step.
-- rotation.lua numbers the threads (thread_index) and reads the file; this script's init replaces its rotation.
local path = os.getenv("BENCH_TOKENS_FILE")
local all_tokens, all_ids = {}, {}
for i, row in ipairs(lines_of("BENCH_TOKENS_FILE", "^(%S+)%s+(%S+)$", "'token referral_id'")) do
  all_tokens[i] = "Bearer " .. row[1]
  all_ids[i] = row[2]
end
local threads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")

local tokens, ids, held = {}, {}, {}
local count = 0
function init(args)
  local me = thread_index or 0
  for i = 1, #all_ids do
    if (i - 1) % threads == me then
      tokens[#tokens + 1] = all_tokens[i]
      ids[#ids + 1] = all_ids[i]
    end
  end
  if #ids == 0 then error("no 'token referral_id' lines for thread " .. me .. " in " .. path) end
end

local HOLD = '{"to":"on_hold","reason":"waiting for the patient\'s documents"}'
local RESUME = '{"to":"sent"}'
local HEADERS = {["Content-Type"] = "application/json", ["Accept"] = "application/json"}

function request()
  local i = (count % #ids) + 1
  count = count + 1
  HEADERS["Authorization"] = tokens[i]
  return wrk.format("POST", "/api/v1/referrals/" .. ids[i] .. "/transitions", HEADERS,
    held[ids[i]] and RESUME or HOLD)
end

function response(status, headers, body)
  if status == 200 then
    local id, now = body:match('^{"id":"([^"]+)","patient_id":"[^"]+","status":"([^"]+)"')
    if id then held[id] = (now == "on_hold") or nil end
  end
end
