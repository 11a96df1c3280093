-- Shared by the scenario scripts: bench/loadgen.py puts it before each one (and report.lua after).
-- lines_of reads a parameter file named by an environment variable; every thread numbers itself
-- (thread_index) and rotates through the rows from its own offset, so threads do not move in step.

function lines_of(variable, pattern, what)
  local path = os.getenv(variable)
  if path == nil or path == "" then error(variable .. " is not set") end
  local rows = {}
  for line in io.lines(path) do
    local found = {line:match(pattern)}
    if found[1] then rows[#rows + 1] = found end
  end
  if #rows == 0 then error("no " .. what .. " lines in " .. path) end
  return rows
end

local next_thread = 0
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

local position = 0
function init(args)
  position = (thread_index or 0) * 7919
end

-- The next row of a list of n rows (1-based), this thread's rotation.
function next_row(n)
  position = position + 1
  return (position % n) + 1
end
