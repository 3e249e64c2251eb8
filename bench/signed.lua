-- wrk script: replays pre-signed requests from a file, each at most once while the pool lasts,
-- so every request carries its own Idempotency-Key / webhook-id / trigger_id and a fresh
-- signature. Pool file: "<byte length>\n<raw HTTP request>" repeated. Run with -t1.
local pool, n, i = {}, 0, 0

function init(args)
  local f = assert(io.open(args[1], "rb"))
  while true do
    local len = f:read("*l")
    if not len then break end
    n = n + 1
    pool[n] = f:read(tonumber(len))
  end
  f:close()
end

function request()
  i = i % n + 1
  return pool[i]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '\nBENCH {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
