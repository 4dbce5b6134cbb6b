-- POST a JSON body as a signed-in page's fetch sends it. From the environment: BODY, and
-- optionally AUTHORIZATION, CSRF_TOKEN and CSRF_COOKIE (bench/csrf.sh, bench/session.sh);
-- REFUSED=1 when the scenario measures refusals (no warning about non-2xx answers).
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
local function set(name, value)
  if value ~= nil and value ~= "" then wrk.headers[name] = value end
end
set("Authorization", os.getenv("AUTHORIZATION"))
set("X-CSRF-Token", os.getenv("CSRF_TOKEN"))
set("Cookie", os.getenv("CSRF_COOKIE"))

done = function(summary, latency, requests)
  if summary.errors.status > 0 and os.getenv("REFUSED") ~= "1" then
    io.stderr:write(string.format("warning: %d non-2xx responses\n", summary.errors.status))
  end
end
