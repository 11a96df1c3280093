-- Bare litestar hello-world: GET of the URL as given (e.g. http://127.0.0.1:PORT/hello).
-- bench/wrk/report.lua is appended by bench/loadgen.py (status counts and the JSON line).
wrk.method = "GET"
wrk.headers["Accept"] = "text/plain"
