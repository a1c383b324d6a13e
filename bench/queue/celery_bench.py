"""The Celery side of bench/queue: 5,000 no-op tasks drained by a prefork worker of concurrency 2,
then 500 apply_async().get() round trips. Run by ./run with /usr/bin/python3; prints one JSON
line."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import celery  # noqa: E402
from celery_app import app, noop  # noqa: E402
from summary import report  # noqa: E402

N = int(os.environ.get("BENCH_CELERY_TASKS", "5000"))
LATENCY_N = int(os.environ.get("BENCH_LATENCY_JOBS", "500"))



def main():
    app.control.purge()
    t0 = time.perf_counter()
    results = [noop.apply_async() for _ in range(N)]
    enqueue_s = time.perf_counter() - t0
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "-P", "prefork", "-c", "2",
         "--loglevel=warning"],
        cwd=os.path.dirname(os.path.abspath(__file__)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ends = [r.get(timeout=600) for r in results]
        drain_s = max(ends) - min(ends)
        start_lat, round_trip = [], []
        for _ in range(LATENCY_N):
            sent = time.time()
            t = time.perf_counter()
            ran_at = noop.apply_async().get(timeout=30)
            round_trip.append((time.perf_counter() - t) * 1000)
            start_lat.append((ran_at - sent) * 1000)
    finally:
        worker.terminate()
        worker.wait(60)
    report("celery " + celery.__version__, N, enqueue_s, drain_s, start_lat, round_trip)


main()
