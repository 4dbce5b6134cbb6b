-- POST /api/items with a CSRF token in the header and its cookie, as a page's fetch sends it.
-- CSRF_TOKEN and CSRF_COOKIE come from the environment (bench/csrf.sh fetches them).
wrk.method = "POST"
wrk.body = '{"name":"Widget","quantity":3,"tags":["a","b"]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-CSRF-Token"] = os.getenv("CSRF_TOKEN")
wrk.headers["Cookie"] = os.getenv("CSRF_COOKIE")

done = function(summary, latency, requests)
  if summary.errors.status > 0 then
    io.stderr:write(string.format("warning: %d non-2xx responses\n", summary.errors.status))
  end
end
