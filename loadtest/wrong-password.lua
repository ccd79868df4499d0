-- GET /{id}/raw of the protected paste named by PROTECTED_ID, always with a wrong password:
-- every request costs the server one full PBKDF2 check, or a refusal when the pool is full.
local path = "/" .. os.getenv("PROTECTED_ID") .. "/raw"

function request()
  return wrk.format("GET", path, { ["X-Paste-Password"] = "not-the-password" })
end
