#!/usr/bin/python3
"""The reference: pandas.read_csv on the benchmark file, best of N runs; prints seconds."""
import sys
import time

import pandas

path = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
best = None
for _ in range(runs):
    t = time.perf_counter()
    df = pandas.read_csv(path)
    elapsed = time.perf_counter() - t
    best = elapsed if best is None else min(best, elapsed)
print(f"{best:.4f} {len(df)} {pandas.__version__}")
