#!/usr/bin/python3
"""Writes the ingestion benchmark's CSV: ROWS rows x 20 columns, from a fixed seed.

Columns: id (integer), 8 numbers (two with ~5% missing), 4 integers, 4 categories (5 to 200
levels), a boolean, a date, and a short text. Usage: generate.py OUT.csv [ROWS] [SEED]
"""
import random
import sys

out = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261123
rng = random.Random(seed)

cats = [[f"c{k}_{i}" for i in range(n)] for k, n in enumerate([5, 12, 50, 200])]
header = (["id"] + [f"x{i}" for i in range(8)] + [f"n{i}" for i in range(4)] + [f"cat{i}" for i in range(4)] +
          ["flag", "day", "note"])
with open(out, "w", newline="") as f:
    f.write(",".join(header) + "\n")
    lines = []
    for r in range(rows):
        xs = [f"{rng.gauss(0, 1) * 100:.4f}" for _ in range(8)]
        if rng.random() < 0.05:
            xs[2] = ""
        if rng.random() < 0.05:
            xs[5] = "NA"
        ns = [str(rng.randrange(-1000, 100000)) for _ in range(4)]
        cs = [rng.choice(c) for c in cats]
        flag = "true" if rng.random() < 0.5 else "false"
        day = f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        note = f"note {rng.randrange(100000)}"
        lines.append(",".join([str(r)] + xs + ns + cs + [flag, day, note]))
        if len(lines) == 10000:
            f.write("\n".join(lines) + "\n")
            lines = []
    if lines:
        f.write("\n".join(lines) + "\n")
