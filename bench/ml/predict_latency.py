#!/usr/bin/env python3
"""Prediction latency through the HTTP API.

Starts `playground serve` on a free loopback port with a fresh data folder, signs up, uploads the
generated binary classification training file (generate.py's classification_train.csv), trains
`gradient_boosting` with defaults, then times POST /models/{id}/predict with 1 row and with 1,000
rows per request on one keep-alive connection. Every request has rows never sent before (random,
fixed seed), so every row misses the 24-hour prediction cache; a second pass repeats the 1-row
requests to show cache hits. Prints client-side p50/p99 and the server-side mean from the
server's own model_inference_duration_seconds histogram.

Usage: predict_latency.py PLAYGROUND_BINARY DATA_FOLDER [REQUESTS]
"""
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(conn, method, path, body=None, token=None, content_type="application/json"):
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = "Bearer " + token
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def server_mean(conn):
    status, text = call(conn, "GET", "/metrics")
    text = text.decode()
    total = sum(float(v) for v in re.findall(r'^model_inference_duration_seconds_sum\{[^}]*\} (\S+)$', text, re.M))
    count = sum(float(v) for v in re.findall(r'^model_inference_duration_seconds_count\{[^}]*\} (\S+)$', text, re.M))
    return total, count


def main():
    binary, data_folder = sys.argv[1], sys.argv[2]
    requests = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    work = tempfile.mkdtemp(prefix="playground-predict-bench-")
    port = free_port()
    env = dict(os.environ, DATA_DIR=work, PORT=str(port), RATE_LIMIT_API="1000000", RATE_LIMIT_AUTH="1000",
               RATE_LIMIT_UPLOAD="1000", RATE_LIMIT_PREDICT="1000000", LOG_LEVEL="warn", PREDICT_MAX_ROWS="1000")
    server = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn = None
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                if call(conn, "GET", "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        account = {"email": "bench@example.com", "password": "correct horse battery"}
        call(conn, "POST", "/api/v1/auth/register", account)
        token = json.loads(call(conn, "POST", "/api/v1/auth/login", account)[1])["access_token"]
        with open(os.path.join(data_folder, "classification_train.csv"), "rb") as f:
            csv = f.read()
        header = csv.split(b"\n", 1)[0].decode().split(",")
        features = [c for c in header if c != "y"]
        status, body = call(conn, "POST", "/api/v1/datasets?name=bench", csv, token, "text/csv")
        assert status == 201, body
        dataset = json.loads(body)["id"]
        status, body = call(conn, "POST", "/api/v1/models",
                            {"dataset_id": dataset, "target": "y", "task": "binary",
                             "algorithm": "gradient_boosting"}, token)
        assert status == 202, body
        job = json.loads(body)["id"]
        while True:
            j = json.loads(call(conn, "GET", "/api/v1/jobs/" + job, token=token)[1])
            if j["state"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.2)
        assert j["state"] == "succeeded", j
        model = j["result"]["model_id"]
        print(f"model: gradient_boosting on {len(csv) / 1e6:.1f} MB ({j['result']['fit_seconds']:.2f} s fit), "
              f"{len(features)} features")

        rng = random.Random(20261123)

        def rows(n):
            return [{c: rng.gauss(0, 1) for c in features} for _ in range(n)]

        def timed(batch, count, reuse=None):
            times = []
            bodies = reuse or [{"rows": rows(batch)} for _ in range(count)]
            before = server_mean(conn)
            for b in bodies:
                t = time.perf_counter()
                status, out = call(conn, "POST", f"/api/v1/models/{model}/predict", b, token)
                times.append(time.perf_counter() - t)
                assert status == 200, out
            after = server_mean(conn)
            server = (after[0] - before[0]) / max(after[1] - before[1], 1)
            return times, server, bodies

        call(conn, "POST", f"/api/v1/models/{model}/predict", {"rows": rows(1)}, token)  # loads the model
        one, one_server, one_bodies = timed(1, requests)
        cached, cached_server, _ = timed(1, requests, one_bodies)
        big, big_server, _ = timed(1000, max(requests // 20, 20))
        print(f"{'request':<26} {'client p50 ms':>14} {'client p99 ms':>14} {'server mean ms':>15}")
        for name, t, s in (("1 row (cache miss)", one, one_server), ("1 row (cache hit)", cached, cached_server),
                           ("1,000 rows (cache miss)", big, big_server)):
            print(f"{name:<26} {percentile(t, 50) * 1e3:>14.3f} {percentile(t, 99) * 1e3:>14.3f} {s * 1e3:>15.3f}")
        print(f"\n{requests} single-row requests, {len(big)} of 1,000 rows; one keep-alive connection; the server "
              f"mean is model_inference_duration_seconds (handler time: lookup, preprocessing, model, cache)")
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
