#!/usr/bin/env python3
"""Writes tests/fixtures/ml/splits.json: for each sample dataset in tests/fixtures/datasets, the 0-based row indices of an
80/20 split made by scikit-learn's train_test_split (random_state=0, stratified for
classification). The C++ tests and the scikit-learn reference scripts both read these indices, so
both sides train and score on exactly the same rows.

Run with Debian's python3 (python3-sklearn 1.2.1, python3-pandas 1.5.3):
    python3 scripts/reference/ml_splits.py
"""
import json
import pathlib

import pandas as pd
from sklearn.model_selection import train_test_split

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures"
HERE = FIXTURES / "ml"
DATASETS = {
    "iris": ("species", "multiclass"),
    "wine": ("cultivar", "multiclass"),
    "breast_cancer": ("diagnosis", "binary"),
    "digits": ("digit", "multiclass"),
    "diabetes": ("progression", "regression"),
}


def main():
    out = {}
    for name, (target, task) in DATASETS.items():
        frame = pd.read_csv(FIXTURES / "datasets" / f"{name}.csv")
        rows = list(range(len(frame)))
        stratify = frame[target] if task != "regression" else None
        train, test = train_test_split(rows, test_size=0.2, random_state=0, stratify=stratify)
        out[name] = {"target": target, "task": task, "train": sorted(train), "test": sorted(test)}
    (HERE / "splits.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
