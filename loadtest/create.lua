-- POST / with distinct text bodies of about 600 bytes: the creation path end to end
-- (body read, MIME detection, group-committed insert, 201).
local thread_id = 0
local counter = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
end

function init(args)
  math.randomseed(os.time() + (id or 0))
end

function request()
  counter = counter + 1
  local body = string.format("load test paste %d-%d-%d\n%s\n", id or 0, counter,
    math.random(1, 1000000000), string.rep("lorem ipsum dolor sit amet ", 20))
  return wrk.format("POST", "/", { ["Content-Type"] = "text/plain" }, body)
end

function response(status, headers, body)
  if status ~= 201 then
    errors = (errors or 0) + 1
  end
end
