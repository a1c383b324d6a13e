#!/usr/bin/python3
"""The scikit-learn side of the ML fit benchmark: fits each reference model on the data written by
generate.py and prints one JSON line per model:
  {"algorithm", "task", "library", "fit_seconds", "metric", "score"}
with "algorithm" named as in the playground's registry, so bench/ml/run can pair the lines with
ml_fit_bench's. Scores are on the test file (accuracy, R^2); k-means is scored on the training
rows as minus the mean squared distance of a row to its cluster's mean (lower inertia = higher).

Thread use: the forests get n_jobs=THREADS; HistGradientBoosting and KMeans use OpenMP, which
the run script limits with OMP_NUM_THREADS.

Each model is fitted BENCH_REPEAT times (default 1) and the fastest fit is reported, so that a
busy moment of a shared machine does not count; BENCH_ONLY=ALGORITHM fits that algorithm only;
BENCH_FIT_SEED=S (default 0) is the random_state of the models that take one.

Usage: sklearn_fit.py DATA_DIR [THREADS]   (Debian's python3-sklearn, python3-pandas)
"""
import json
import os
import pathlib
import sys
import time
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score


def load(directory, task, part):
    frame = pd.read_csv(directory / f"{task}_{part}.csv", dtype=np.float32)
    return frame.drop(columns=["y"]).to_numpy(), frame["y"].to_numpy()


def kmeans_score(x, labels):
    total = 0.0
    for cluster in np.unique(labels):
        members = x[labels == cluster].astype(np.float64)
        total += ((members - members.mean(axis=0)) ** 2).sum()
    return -total / len(x)


def main():
    directory = pathlib.Path(sys.argv[1])
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    warnings.filterwarnings("ignore")
    data = {task: (*load(directory, task, "train"), *load(directory, task, "test"))
            for task in ("classification", "regression")}
    seed = int(os.environ.get("BENCH_FIT_SEED", "0"))
    runs = [
        ("random_forest", "binary", RandomForestClassifier(n_estimators=100, n_jobs=threads, random_state=seed)),
        ("gradient_boosting", "binary", HistGradientBoostingClassifier(random_state=seed)),
        ("logistic_regression", "binary", LogisticRegression(max_iter=1000)),
        ("kmeans", "clustering", KMeans(n_clusters=8, n_init=1, random_state=seed)),
        ("ridge", "regression", Ridge()),
        ("gradient_boosting", "regression", HistGradientBoostingRegressor(random_state=seed)),
        ("random_forest", "regression", RandomForestRegressor(n_estimators=100, n_jobs=threads, random_state=seed)),
    ]
    repeat = max(1, int(os.environ.get("BENCH_REPEAT", "1")))
    only = os.environ.get("BENCH_ONLY", "")
    for algorithm, task, prototype in runs:
        if only and only != algorithm:
            continue
        x_train, y_train, x_test, y_test = data["regression" if task == "regression" else "classification"]
        seconds = float("inf")
        for _ in range(repeat):
            model = clone(prototype)
            start = time.perf_counter()
            if task == "clustering":
                model.fit(x_train)
            else:
                model.fit(x_train, y_train)
            seconds = min(seconds, time.perf_counter() - start)
        if task == "clustering":
            metric, score = "-inertia/row", kmeans_score(x_train, model.labels_)
        elif task == "regression":
            metric, score = "r2", r2_score(y_test, model.predict(x_test))
        else:
            metric, score = "accuracy", accuracy_score(y_test, model.predict(x_test))
        print(json.dumps({"algorithm": algorithm, "task": task, "library": f"scikit-learn {sklearn.__version__}",
                          "fit_seconds": round(seconds, 3), "metric": metric, "score": round(float(score), 5)}),
              flush=True)


if __name__ == "__main__":
    main()
