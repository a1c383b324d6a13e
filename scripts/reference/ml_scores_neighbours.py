#!/usr/bin/env python3
"""Writes tests/fixtures/ml/scores_neighbours.json: scikit-learn's test scores and predictions for
the engine's k-nearest neighbours, naive Bayes and k-means models (src/ml/neighbours.cpp), which
src/ml/neighbours_test.cpp compares against.

The models are scikit-learn's defaults, KNeighborsClassifier(), KNeighborsRegressor(),
GaussianNB() and MultinomialNB(), plus k-NN with n_neighbors=7, weights="distance",
metric="manhattan" (the engine's other options), and KMeans(n_clusters=3, n_init=10,
random_state=0) on all 150 iris rows. Classifiers' predict_proba is kept for every test row. Rows come from tests/fixtures/ml/splits.json (written by ml_splits.py), classes are numbered
in sorted order (LabelEncoder), as the C++ test helpers do. The engine stores features as 32-bit
floats, so the features are rounded to float32 first and then fitted in float64: both sides then
see exactly the same numbers, which is what lets the C++ test expect equal scores.

Run with Debian's python3 (python3-sklearn 1.2.1, python3-numpy 1.24.2, python3-pandas 1.5.3):
    /usr/bin/python3 scripts/reference/ml_scores_neighbours.py
"""
import json
import pathlib
import platform

import numpy as np
import pandas as pd
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import accuracy_score, r2_score
from sklearn.naive_bayes import GaussianNB, MultinomialNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.preprocessing import LabelEncoder

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures"
HERE = FIXTURES / "ml"

# (dataset, algorithm name in the engine, scikit-learn estimator, parameters given to both)
CASES = [
    ("iris", "knn", KNeighborsClassifier, {}),
    ("wine", "knn", KNeighborsClassifier, {}),
    ("breast_cancer", "knn", KNeighborsClassifier, {}),
    ("diabetes", "knn", KNeighborsRegressor, {}),
    ("wine", "knn", KNeighborsClassifier, {"n_neighbors": 7, "weights": "distance", "metric": "manhattan"}),
    ("diabetes", "knn", KNeighborsRegressor, {"n_neighbors": 7, "weights": "distance", "metric": "manhattan"}),
    ("iris", "gaussian_nb", GaussianNB, {}),
    ("wine", "gaussian_nb", GaussianNB, {}),
    ("breast_cancer", "gaussian_nb", GaussianNB, {}),
    ("digits", "multinomial_nb", MultinomialNB, {}),
]


def load(name, splits):
    entry = splits[name]
    frame = pd.read_csv(FIXTURES / "datasets" / f"{name}.csv")
    target = entry["target"]
    x = frame.drop(columns=[target]).to_numpy(dtype=np.float32).astype(np.float64)
    if entry["task"] == "regression":
        y = frame[target].to_numpy(dtype=np.float64)
    else:
        y = LabelEncoder().fit_transform(frame[target])
    train, test = entry["train"], entry["test"]
    return x[train], y[train], x[test], y[test], entry["task"]


def main():
    splits = json.loads((HERE / "splits.json").read_text())
    scores = []
    for dataset, algorithm, factory, params in CASES:
        x_train, y_train, x_test, y_test, task = load(dataset, splits)
        model = factory(**params).fit(x_train, y_train)
        predicted = model.predict(x_test)
        regression = task == "regression"
        entry = {
            "dataset": dataset,
            "algorithm": algorithm,
            "params": params,
            "estimator": factory.__name__ + "(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")",
            "metric": "r2" if regression else "accuracy",
            "score": float(r2_score(y_test, predicted) if regression else accuracy_score(y_test, predicted)),
            "predictions": [float(v) for v in predicted],
        }
        if not regression:
            entry["probabilities"] = model.predict_proba(x_test).tolist()
        scores.append(entry)

    iris = pd.read_csv(FIXTURES / "datasets" / "iris.csv")
    features = iris.drop(columns=["species"]).to_numpy(dtype=np.float32).astype(np.float64)
    kmeans = KMeans(n_clusters=3, n_init=10, random_state=0).fit(features)
    out = {
        "generated_by": "/usr/bin/python3 scripts/reference/ml_scores_neighbours.py",
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "scores": scores,
        "kmeans_iris": {
            "estimator": "KMeans(n_clusters=3, n_init=10, random_state=0) on all 150 iris rows",
            "inertia": float(kmeans.inertia_),
            "labels": [int(v) for v in kmeans.labels_],
        },
    }
    (HERE / "scores_neighbours.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
