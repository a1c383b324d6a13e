#!/usr/bin/env python3
"""Writes tests/fixtures/ml/preprocess.json: a small table with missing values and outliers, and
scikit-learn's / numpy's transform of it for every combination of numeric imputation, scaling and
clipping that src/ml/preprocess.cpp offers, which src/ml/preprocess_test.cpp compares against.

The table has two numeric columns, "x" (number) and "n" (integer); null marks a missing value.
Rows 0-29 are the training rows, rows 30-39 the test rows: every statistic is fitted on the
training rows only and then applied to all 40 rows, in the pipeline's order:
  1. clip: bounds from the training rows' present values, numpy.quantile (method="linear"):
       quantile: [q(lower), q(upper)]; iqr: [q1 - f * (q3 - q1), q3 + f * (q3 - q1)];
     applied with numpy.clip (missing values stay missing);
  2. impute: sklearn.impute.SimpleImputer(strategy=..., fill_value=2.5 for "constant");
  3. scale: StandardScaler, MinMaxScaler or RobustScaler (defaults), or none.

Run with Debian's python3 (python3-sklearn 1.2.1, python3-numpy 1.24.2):
    /usr/bin/python3 scripts/reference/ml_preprocess.py
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "ml" / "preprocess.json"


def table():
    rng = np.random.default_rng(7)
    x = np.round(rng.normal(10.0, 3.0, 40), 2)
    x[[3, 11, 25, 33]] = np.nan
    x[7] = 95.0      # a training outlier
    x[19] = -40.0
    x[[2, 14, 21]] = 8.5  # a tie for most_frequent
    x[36] = 200.0    # a test value far outside the training range
    n = rng.integers(0, 6, 40).astype(float)
    n[[0, 9, 31]] = np.nan
    n[12] = 60.0
    return x, n


def main():
    x, n = table()
    data = np.column_stack([x, n])
    train = data[:30]
    cases = []
    clips = [("none", {}), ("quantile", {"lower": 0.05, "upper": 0.9}), ("iqr", {"iqr_factor": 1.0})]
    for impute in ["mean", "median", "most_frequent", "constant"]:
        for scale in ["none", "standard", "minmax", "robust"]:
            for clip, clip_args in clips:
                lo = np.full(2, -np.inf)
                hi = np.full(2, np.inf)
                if clip == "quantile":
                    for j in range(2):
                        col = train[:, j][~np.isnan(train[:, j])]
                        lo[j], hi[j] = np.quantile(col, [clip_args["lower"], clip_args["upper"]])
                elif clip == "iqr":
                    for j in range(2):
                        col = train[:, j][~np.isnan(train[:, j])]
                        q1, q3 = np.quantile(col, [0.25, 0.75])
                        f = clip_args["iqr_factor"]
                        lo[j], hi[j] = q1 - f * (q3 - q1), q3 + f * (q3 - q1)
                clipped = np.clip(data, lo, hi)  # NaN stays NaN
                imputer = SimpleImputer(strategy=impute, fill_value=2.5)
                imputer.fit(clipped[:30])
                filled = imputer.transform(clipped)
                if scale != "none":
                    scaler = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}[scale]()
                    scaler.fit(filled[:30])
                    filled = scaler.transform(filled)
                spec = {"impute": {"numeric": impute, "fill_value": 2.5}, "scale": scale,
                        "clip": dict({"method": clip}, **clip_args)}
                cases.append({"spec": spec, "expected": filled.tolist()})

    def column(values):
        return [None if np.isnan(v) else (float(v)) for v in values]

    fixture = {
        "generated_by": "scripts/reference/ml_preprocess.py",
        "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "train_rows": 30,
        "columns": {"x": column(x), "n": [None if np.isnan(v) else int(v) for v in n]},
        "cases": cases,
    }
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")


if __name__ == "__main__":
    main()
