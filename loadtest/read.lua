-- GET /{id}/raw round-robin over the ids listed, one per line, in the file named by IDS_FILE:
-- the hot read path (cache, coalesced last-access updates).
local ids = {}
local next_index = 1

function init(args)
  for line in io.lines(os.getenv("IDS_FILE")) do
    ids[#ids + 1] = line
  end
  next_index = math.random(1, #ids)
end

function request()
  local id = ids[next_index]
  next_index = next_index % #ids + 1
  return wrk.format("GET", "/" .. id .. "/raw")
end
