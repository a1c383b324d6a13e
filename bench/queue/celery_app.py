"""The Celery reference for bench/queue: no-op tasks on the same Redis as the playground."""
import os
import time

from celery import Celery

REDIS = os.environ["BENCH_REDIS_URL"].rstrip("/")
app = Celery("bench", broker=REDIS + "/1", backend=REDIS + "/2")
app.conf.worker_hijack_root_logger = False


@app.task
def noop():
    """Does nothing; returns when it ran (the end of a no-op is its start)."""
    return time.time()
