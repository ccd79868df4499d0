-- POST / with a pre-solved proof-of-work token per request, read from the file named by
-- TOKENS_FILE (lines of "token solution"); each thread takes every other line so that no token
-- is spent twice.
local tokens = {}
local next_index = 1
local counter = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
end

function init(args)
  local line_number = 0
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    line_number = line_number + 1
    if line_number % 2 == (id or 1) % 2 then
      local token, solution = line:match("^(%S+) (%S+)$")
      tokens[#tokens + 1] = { token, solution }
    end
  end
end

function request()
  counter = counter + 1
  local pair = tokens[next_index] or tokens[#tokens]
  next_index = next_index + 1
  local body = string.format("pow paste %d-%d-%d\n%s\n", id or 0, counter,
    math.random(1, 1000000000), string.rep("lorem ipsum dolor sit amet ", 20))
  return wrk.format("POST", "/", {
    ["Content-Type"] = "text/plain",
    ["X-PoW-Token"] = pair[1],
    ["X-PoW-Solution"] = pair[2],
  }, body)
end
