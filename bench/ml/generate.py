#!/usr/bin/python3
"""Writes the ML fit benchmark's data: a classification set and a regression set, ROWS x 20
features each, from a fixed seed, as CSV with a header (f0..f19, then the target y), split 80/20
into <task>_train.csv and <task>_test.csv in OUT_DIR.

classification: binary, like scikit-learn's make_classification: 8 informative features drawn
  around 2 clusters per class (cluster centres on the vertices of a hypercube), 4 redundant
  features (random linear combinations of the informative ones), 8 noise features, 1% of the
  labels flipped.
regression: 20 standard-normal features; y mixes non-linear and linear terms of 7 of them plus
  Gaussian noise, so trees and linear models both find something.

Usage: generate.py OUT_DIR [ROWS] [SEED]   (defaults 200000, 20261123; needs python3-numpy)
"""
import pathlib
import sys

import numpy as np

FEATURES = 20


def classification(rng, rows):
    informative, redundant = 8, 4
    clusters = 4  # 2 per class
    centres = rng.choice([-1.0, 1.0], size=(clusters, informative))
    cluster = rng.integers(0, clusters, size=rows)
    y = cluster % 2
    x_inf = centres[cluster] + rng.normal(size=(rows, informative))
    x_red = x_inf @ rng.uniform(-1, 1, size=(informative, redundant))
    x_noise = rng.normal(size=(rows, FEATURES - informative - redundant))
    x = np.hstack([x_inf, x_red, x_noise])
    flip = rng.random(rows) < 0.01
    y[flip] = 1 - y[flip]
    order = rng.permutation(FEATURES)  # informative columns are not simply the first ones
    return x[:, order], y.astype(np.int64)


def regression(rng, rows):
    x = rng.normal(size=(rows, FEATURES))
    y = (10 * np.sin(x[:, 0] * x[:, 1]) + 5 * x[:, 2] ** 2 + 8 * x[:, 3] + 4 * x[:, 4] + 2 * x[:, 5] * x[:, 6]
         + rng.normal(scale=2.0, size=rows))
    return x, y


def write(path, x, y, integer_target):
    header = ",".join([f"f{i}" for i in range(FEATURES)] + ["y"])
    target_format = "%d" if integer_target else "%.6f"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="",
               fmt=["%.6f"] * FEATURES + [target_format])


def main():
    out = pathlib.Path(sys.argv[1])
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261123
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    train_rows = rows * 8 // 10
    for task, make in (("classification", classification), ("regression", regression)):
        x, y = make(rng, rows)
        integer_target = task == "classification"
        write(out / f"{task}_train.csv", x[:train_rows], y[:train_rows], integer_target)
        write(out / f"{task}_test.csv", x[train_rows:], y[train_rows:], integer_target)


if __name__ == "__main__":
    main()
