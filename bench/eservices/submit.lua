-- bench/eservices/submit.lua: wrk script posting one application per
-- request with a demo citizen's token.  bench/eservices/run fills in the
-- token and body through the environment.
wrk.method = "POST"
wrk.body = os.getenv("GL_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("GL_TOKEN")

local codes = {}

function response(status, headers, body)
   codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
   for s, n in pairs(codes) do
      io.write(string.format("status %d: %d\n", s, n))
   end
end
