"""The playground side of bench/queue: drives `playground serve --workers 0` over HTTP and starts
one `playground worker` (concurrency 2) on the same Redis. Run by ./run; prints one JSON line."""
import http.client
import json
import os
import subprocess
import sys
import time

from summary import report

PORT = int(os.environ["BENCH_SERVE_PORT"])
WORKER_CMD = os.environ["BENCH_WORKER_CMD"].split()
N = int(os.environ.get("BENCH_JOBS", "10000"))
LATENCY_N = int(os.environ.get("BENCH_LATENCY_JOBS", "500"))

conn = http.client.HTTPConnection("127.0.0.1", PORT)


def call(method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:300]!r}")
    return json.loads(data) if data else None


def all_jobs(token, state):
    out, cursor = [], None
    while True:
        path = f"/api/v1/jobs?limit=500&state={state}" + (f"&cursor={cursor}" if cursor else "")
        page = call("GET", path, token=token)
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out



def main():
    creds = {"email": "bench@example.com", "password": "correct horse battery"}
    call("POST", "/api/v1/auth/register", creds)
    token = call("POST", "/api/v1/auth/login", creds)["access_token"]

    # Throughput: a backlog of N no-op jobs, then one worker process drains it.
    t0 = time.perf_counter()
    for _ in range(N):
        call("POST", "/api/v1/jobs", {"type": "noop"}, token)
    enqueue_s = time.perf_counter() - t0
    worker = subprocess.Popen(WORKER_CMD, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 600
        while time.time() < deadline:
            if not call("GET", "/api/v1/jobs?limit=1&state=queued", token=token)["items"] and \
               not call("GET", "/api/v1/jobs?limit=1&state=running", token=token)["items"]:
                break
            time.sleep(0.05)
        done = all_jobs(token, "succeeded")
        if len(done) != N:
            raise SystemExit(f"only {len(done)} of {N} jobs succeeded")
        finished = [j["finished_at_us"] for j in done]
        started = [j["started_at_us"] for j in done]
        drain_s = (max(finished) - min(finished)) / 1e6
        span_s = (max(finished) - min(started)) / 1e6

        # Latency: single jobs one after another on an idle queue.
        start_lat, round_trip = [], []
        for _ in range(LATENCY_N):
            t = time.perf_counter()
            job = call("POST", "/api/v1/jobs", {"type": "noop"}, token)
            while True:
                j = call("GET", "/api/v1/jobs/" + job["id"], token=token)
                if j["state"] == "succeeded":
                    break
            round_trip.append((time.perf_counter() - t) * 1000)
            start_lat.append((j["started_at_us"] - j["created_at_us"]) / 1000)
    finally:
        worker.terminate()
        worker.wait(30)
    report("playground", N, enqueue_s, drain_s, start_lat, round_trip, first_start_to_last_finish_s=span_s)


main()
