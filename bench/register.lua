-- wrk script: POST a registration with an e-mail address no other request has used.
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  run = os.getenv("BENCH_RUN") or tostring(os.time())
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"name":"Load Test","email":"load-%s-%d-%d@bench.example","webinar_date":"2099-01-01"}',
    run, thread_id, counter)
  -- wrk.format uses the table it is given instead of the -H headers: pass them on.
  local headers = {["Content-Type"] = "application/json"}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("POST", nil, headers, body)
end
