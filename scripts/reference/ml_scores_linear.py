#!/usr/bin/env python3
"""Writes tests/fixtures/ml/scores_linear.json: scikit-learn's test-set scores (and some exact
coefficients) for the counterparts of the engine's linear models, which src/ml/linear_models_test.cpp
checks the C++ models against.

Run from the repository root with Debian's python3 (python3-sklearn 1.2.1, python3-numpy 1.24,
python3-pandas 1.5.3):
    /usr/bin/python3 scripts/reference/ml_scores_linear.py

Every model trains on the train rows and is scored on the test rows of tests/fixtures/ml/splits.json.
The features are rounded to float32 first, because the engine stores features as float; the fits
then see exactly the same numbers on both sides.

Which scikit-learn model is the fair counterpart of each engine model, and why:
- logistic_regression, linear_svm, linear_svr standardise the features inside the model (liblinear
  needs it to converge), so their counterparts run inside make_pipeline(StandardScaler(), ...):
  the same penalty C applied on the same standardised scale.
  * LogisticRegression(max_iter=5000): scikit-learn's default lbfgs solver, which leaves the
    intercept unpenalised and is multinomial for multiclass. The engine uses liblinear, which
    penalises the intercept and is one-vs-rest, so the scores may differ slightly.
  * LinearSVC(max_iter=1000) and LinearSVR(max_iter=1000): these are liblinear too, with the same
    defaults (squared hinge / epsilon-insensitive loss, C=1, tol=1e-4, penalised intercept, at
    most 1000 passes, the fixed limit of liblinear 2.3). The engine also centres the target for
    linear_svr, which makes the intercept penalty matter less, so it may score higher.
- linear_regression, ridge, lasso do not standardise (their coefficients are in the data's units,
  like scikit-learn's), so their counterparts are LinearRegression(), Ridge(), Lasso() on the raw
  features. The coefficients of these fits are recorded too: least squares and ridge are
  closed-form; lasso is recorded at a tight tolerance (tol=1e-12) so that both sides report the
  exact optimum rather than wherever each stopped, and at the default tolerance.
"""
import json
import pathlib
import platform
import sys
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.svm import LinearSVC, LinearSVR

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures"
# Allowed shortfall of the engine's test score below scikit-learn's (accuracy or R^2). One test
# row of wine is 0.028 of accuracy, so 0.03 allows one row more wrong there.
TOLERANCE = 0.03


def load(name):
    splits = json.loads((FIXTURES / "ml" / "splits.json").read_text())
    entry = splits[name]
    frame = pd.read_csv(FIXTURES / "datasets" / f"{name}.csv")
    target = frame[entry["target"]]
    x = frame.drop(columns=[entry["target"]]).to_numpy(np.float32).astype(np.float64)
    if entry["task"] == "regression":
        y = target.to_numpy(np.float64)
    else:
        y = LabelEncoder().fit_transform(target)  # sorted class names, as the C++ loader numbers them
    train, test = entry["train"], entry["test"]
    return x[train], y[train], x[test], y[test]


def scaled(model):
    return make_pipeline(StandardScaler(), model)


CASES = [
    # (engine algorithm, dataset, metric, scikit-learn counterpart)
    ("logistic_regression", "breast_cancer", "accuracy", lambda: scaled(LogisticRegression(max_iter=5000))),
    ("logistic_regression", "wine", "accuracy", lambda: scaled(LogisticRegression(max_iter=5000))),
    ("linear_svm", "breast_cancer", "accuracy", lambda: scaled(LinearSVC(max_iter=1000))),
    ("linear_svm", "wine", "accuracy", lambda: scaled(LinearSVC(max_iter=1000))),
    ("linear_regression", "diabetes", "r2", LinearRegression),
    ("ridge", "diabetes", "r2", Ridge),
    ("lasso", "diabetes", "r2", Lasso),
    ("linear_svr", "diabetes", "r2", lambda: scaled(LinearSVR(max_iter=1000))),
]


def describe(model):
    return " -> ".join(repr(step) for _, step in model.steps) if hasattr(model, "steps") else repr(model)


def coefficients(model):
    return {"coefficients": model.coef_.tolist(), "intercept": float(model.intercept_)}


def main():
    scores = []
    for algorithm, dataset, metric, make in CASES:
        x_train, y_train, x_test, y_test = load(dataset)
        model = make()
        with warnings.catch_warnings():
            # LinearSVR stops at max_iter on diabetes; that is the behaviour being compared.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x_train, y_train)
        scores.append({
            "algorithm": algorithm,
            "dataset": dataset,
            "metric": metric,
            "sklearn_model": describe(model),
            "sklearn_score": float(model.score(x_test, y_test)),  # accuracy for classifiers, R^2 for regressors
            "tolerance": TOLERANCE,
        })

    x_train, y_train, _, _ = load("diabetes")
    exact = {
        "linear_regression": coefficients(LinearRegression().fit(x_train, y_train)),
        "ridge": coefficients(Ridge(alpha=1.0).fit(x_train, y_train)),
        "lasso_tight": dict(coefficients(Lasso(alpha=1.0, tol=1e-12, max_iter=100000).fit(x_train, y_train)),
                            params={"alpha": 1.0, "tol": 1e-12, "max_iter": 100000}),
        "lasso_default": dict(coefficients(Lasso(alpha=1.0).fit(x_train, y_train)),
                              params={"alpha": 1.0, "tol": 1e-4, "max_iter": 1000}),
    }

    out = {
        "generated_by": "/usr/bin/python3 scripts/reference/ml_scores_linear.py",
        "versions": {"python": platform.python_version(), "sklearn": sklearn.__version__, "numpy": np.__version__,
                     "pandas": pd.__version__},
        "scores": scores,
        "diabetes_coefficients": exact,
    }
    path = FIXTURES / "ml" / "scores_linear.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
