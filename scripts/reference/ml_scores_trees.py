#!/usr/bin/env python3
"""Writes tests/fixtures/ml/scores_trees.json: the test-set scores scikit-learn's tree ensembles
reach with their defaults on the sample datasets, the bar the gradient_boosting and random_forest
algorithms must meet in src/ml/tree_models_test.cpp.

For each dataset the rows are those of tests/fixtures/ml/splits.json (the split the C++ tests
use); classes are numbered in sorted order like the C++ loader. Scores: accuracy for
classification, R^2 for regression. Models:
  gradient_boosting: HistGradientBoostingClassifier() / HistGradientBoostingRegressor()
  random_forest:     RandomForestClassifier(n_estimators=100, random_state=0) /
                     RandomForestRegressor(n_estimators=100, random_state=0)
HistGradientBoosting* is given random_state=0 too; with these dataset sizes it does no early
stopping or subsampling, so that only pins the result.

Run with Debian's python3 (python3-sklearn 1.2.1, python3-pandas 1.5.3, python3-numpy 1.24.2):
    /usr/bin/python3 scripts/reference/ml_scores_trees.py
"""
import json
import pathlib

import pandas as pd
import sklearn
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.metrics import accuracy_score, r2_score

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures"
DATASETS = ["breast_cancer", "iris", "wine", "diabetes"]


def load(name, entry):
    frame = pd.read_csv(FIXTURES / "datasets" / f"{name}.csv")
    target = entry["target"]
    x = frame.drop(columns=[target]).to_numpy(dtype="float32")
    y = frame[target]
    if entry["task"] != "regression":
        classes = sorted(y.unique())
        y = y.map({c: i for i, c in enumerate(classes)})
    y = y.to_numpy(dtype="float64")
    train, test = entry["train"], entry["test"]
    return x[train], y[train], x[test], y[test]


def models(task):
    if task == "regression":
        return {
            "gradient_boosting": HistGradientBoostingRegressor(random_state=0),
            "random_forest": RandomForestRegressor(n_estimators=100, random_state=0),
        }
    return {
        "gradient_boosting": HistGradientBoostingClassifier(random_state=0),
        "random_forest": RandomForestClassifier(n_estimators=100, random_state=0),
    }


def main():
    splits = json.loads((FIXTURES / "ml" / "splits.json").read_text())
    out = {"sklearn_version": sklearn.__version__, "scores": {}}
    for name in DATASETS:
        entry = splits[name]
        x_train, y_train, x_test, y_test = load(name, entry)
        task = entry["task"]
        metric = "r2" if task == "regression" else "accuracy"
        scores = {}
        for algorithm, model in models(task).items():
            model.fit(x_train, y_train)
            predicted = model.predict(x_test)
            score = r2_score(y_test, predicted) if task == "regression" else accuracy_score(y_test, predicted)
            scores[algorithm] = round(float(score), 6)
        out["scores"][name] = {"task": task, "metric": metric, **scores}
    (FIXTURES / "ml" / "scores_trees.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
