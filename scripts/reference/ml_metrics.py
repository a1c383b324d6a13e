#!/usr/bin/env python3
"""Writes tests/fixtures/ml/metrics.json: inputs and scikit-learn's values for the evaluation metrics
in src/ml/metrics.cpp, which src/ml/metrics_test.cpp compares against.

The cases come from a fixed numpy seed and are chosen for the edge cases the engine must get right:
  * binary_ties: scores rounded to one decimal (many ties) and some probabilities of exactly 0 and
    1 (log loss clipping);
  * binary_zero_division: the positive class is never predicted (precision's zero_division=0);
  * multiclass_3 / multiclass_4: softmax probabilities (multiclass_4 from coarse logits, so tied);
  * missing_pred_class: class 2 is never predicted; also a log loss on rows that do not sum to 1
    (clipped, then renormalised per row);
  * absent_class: 4 declared classes, class 3 neither true nor predicted (macro averages use the
    labels present in y_true or y_pred, as scikit-learn's default does; ROC AUC is undefined);
  * regression (zeros in y_true for MAPE) and two constant-target cases for R²;
  * clustering blobs with a singleton cluster and an unused cluster index, for silhouette and
    inertia.

Reference calls (scikit-learn 1.2.1): accuracy_score, balanced_accuracy_score, confusion_matrix,
precision_recall_fscore_support(zero_division=0), roc_auc_score (multiclass: multi_class='ovr',
average='macro'), average_precision_score, log_loss(labels=range(k)) with eps=1e-15 and with the
1.2 default eps='auto' (float64 machine epsilon), roc_curve, precision_recall_curve,
mean_absolute_error, mean_squared_error(squared=False), r2_score,
mean_absolute_percentage_error, silhouette_score(metric='euclidean'). scikit-learn 1.2.1's
average_precision_score has no multiclass mode, so the multiclass PR AUC is the mean over classes
of the one-vs-rest binary scores (what 1.3's multiclass mode computes). Inertia (the sum of squared
distances to each cluster's mean) and the residual summary are computed with numpy
(np.percentile's default linear interpolation, np.std with ddof=0). Values that scikit-learn
leaves undefined (it raises) are written as null.

Clustering features are rounded to float32 (the engine's storage type) and then scored in float64,
so both sides see the same numbers.

Run with Debian's python3 (python3-sklearn 1.2.1, python3-numpy 1.24.2):
    /usr/bin/python3 scripts/reference/ml_metrics.py
"""
import json
import pathlib
import platform
import sys

import numpy as np
import sklearn
from sklearn import metrics

HERE = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "ml"
SEED = 20240601


def softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def classification_expected(y_true, y_pred, proba, k):
    labels = list(range(k))
    p, r, f, s = metrics.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out = {
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y_true, y_pred),
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "precision": p.tolist(),
        "recall": r.tolist(),
        "f1": f.tolist(),
        "support": s.tolist(),
    }
    for average in ("macro", "weighted"):
        p, r, f, _ = metrics.precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
        out[f"precision_{average}"] = p
        out[f"recall_{average}"] = r
        out[f"f1_{average}"] = f
    if proba is None:
        return out
    present = set(np.unique(y_true).tolist())
    if k == 2:
        out["roc_auc"] = metrics.roc_auc_score(y_true, proba[:, 1]) if len(present) == 2 else None
        out["pr_auc"] = metrics.average_precision_score(y_true, proba[:, 1]) if 1 in present else None
        curve_classes = [1]
    else:
        complete = len(present) == k
        out["roc_auc"] = (metrics.roc_auc_score(y_true, proba, multi_class="ovr", average="macro")
                          if complete else None)
        out["pr_auc"] = (float(np.mean([metrics.average_precision_score(y_true == c, proba[:, c]) for c in labels]))
                         if complete else None)
        curve_classes = labels
    out["log_loss"] = metrics.log_loss(y_true, proba, labels=labels, eps=1e-15)
    out["log_loss_auto_eps"] = metrics.log_loss(y_true, proba, labels=labels)
    out["roc_curves"] = []
    out["pr_curves"] = []
    for c in curve_classes:
        positive = y_true == c
        if positive.all() or not positive.any():
            continue
        fpr, tpr, thresholds = metrics.roc_curve(positive, proba[:, c])
        out["roc_curves"].append({"class": c, "fpr": fpr.tolist(), "tpr": tpr.tolist(),
                                  "thresholds": thresholds.tolist()})
        precision, recall, thresholds = metrics.precision_recall_curve(positive, proba[:, c])
        out["pr_curves"].append({"class": c, "precision": precision.tolist(), "recall": recall.tolist(),
                                 "thresholds": thresholds.tolist()})
    return out


def classification_case(name, y_true, y_pred, proba, k):
    return {
        "name": name,
        "classes": k,
        "y_true": y_true.astype(float).tolist(),
        "y_pred": y_pred.astype(float).tolist(),
        "probabilities": None if proba is None else proba.ravel().tolist(),
        "expected": classification_expected(y_true, y_pred, proba, k),
    }


def classification_cases(rng):
    cases = []

    # Binary with heavy ties, and exact 0 / 1 probabilities.
    n = 200
    y = rng.integers(0, 2, n)
    score = np.clip(np.round(0.35 * y + rng.uniform(0, 0.65, n), 1), 0, 1)
    score[:6] = [0.0, 1.0, 0.0, 1.0, 1.0, 0.0]
    proba = np.column_stack([1 - score, score])
    cases.append(classification_case("binary_ties", y, (score >= 0.5).astype(int), proba, 2))

    # Binary where class 1 is never predicted.
    n = 120
    y = rng.integers(0, 2, n)
    score = 0.3 * y + rng.uniform(0, 0.45, n)
    cases.append(classification_case("binary_zero_division", y, np.zeros(n, dtype=int),
                                     np.column_stack([1 - score, score]), 2))

    # Binary labels only (a model without probabilities).
    y = rng.integers(0, 2, 50)
    flip = rng.uniform(size=50) < 0.3
    cases.append(classification_case("binary_labels_only", y, np.where(flip, 1 - y, y), None, 2))

    # Three classes, softmax probabilities.
    n, k = 150, 3
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.2
    proba = softmax(logits)
    cases.append(classification_case("multiclass_3", y, proba.argmax(axis=1), proba, k))

    # Four classes from coarse logits: many tied probabilities.
    n, k = 300, 4
    y = rng.integers(0, k, n)
    logits = np.round(rng.normal(size=(n, k)) * 2) / 2
    logits[np.arange(n), y] += 1.0
    proba = softmax(logits)
    cases.append(classification_case("multiclass_4", y, proba.argmax(axis=1), proba, k))

    # Class 2 present in y_true but never predicted; also a log loss on unnormalised rows.
    n, k = 90, 3
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.0
    proba = softmax(logits)
    case = classification_case("missing_pred_class", y, proba[:, :2].argmax(axis=1), proba, k)
    scaled = proba * rng.uniform(0.5, 1.0, (n, 1))
    scaled[0] = [0.0, 0.0, 0.7]
    case["scaled_probabilities"] = scaled.ravel().tolist()
    case["expected"]["log_loss_scaled"] = metrics.log_loss(y, scaled, labels=list(range(k)), eps=1e-15)
    cases.append(case)

    # Four declared classes, class 3 neither true nor predicted.
    n, k = 60, 4
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.5
    logits[:, 3] -= 1.0
    proba = softmax(logits)
    pred = proba[:, :3].argmax(axis=1)
    cases.append(classification_case("absent_class", y, pred, proba, k))
    return cases


def regression_case(name, y_true, y_pred):
    residual = y_true - y_pred
    p5, p25, p50, p75, p95 = np.percentile(residual, [5, 25, 50, 75, 95])
    return {
        "name": name,
        "y_true": y_true.tolist(),
        "y_pred": y_pred.tolist(),
        "expected": {
            "mae": metrics.mean_absolute_error(y_true, y_pred),
            "rmse": metrics.mean_squared_error(y_true, y_pred, squared=False),
            "r2": metrics.r2_score(y_true, y_pred),
            "mape": metrics.mean_absolute_percentage_error(y_true, y_pred),
            "residuals": {"mean": np.mean(residual), "std": np.std(residual), "min": np.min(residual),
                          "p5": p5, "p25": p25, "median": p50, "p75": p75, "p95": p95,
                          "max": np.max(residual)},
        },
    }


def regression_cases(rng):
    n = 200
    y = np.round(rng.normal(10, 5, n), 2)
    y[rng.choice(n, 8, replace=False)] = 0.0
    pred = y + rng.normal(0, 2, n)
    return [
        regression_case("with_zeros", y, pred),
        regression_case("constant_target", np.full(5, 3.0), np.array([3.0, 2.5, 3.5, 3.0, 4.0])),
        regression_case("constant_target_exact", np.full(4, -2.0), np.full(4, -2.0)),
    ]


def clustering_cases(rng):
    centres = np.array([[0, 0, 0], [4, 4, 0], [0, 4, 4]], dtype=float)
    labels = np.repeat([0, 1, 3], 40)  # cluster index 2 is unused
    x = centres[np.repeat([0, 1, 2], 40)] + rng.normal(0, 1.0, (120, 3))
    x = np.vstack([x, [[10.0, -5.0, 7.0]]])
    labels = np.append(labels, 4)  # a singleton cluster
    x = x.astype(np.float32).astype(np.float64)
    inertia = sum(((x[labels == c] - x[labels == c].mean(axis=0)) ** 2).sum() for c in np.unique(labels))
    return [{
        "name": "blobs",
        "cols": x.shape[1],
        "x": x.ravel().tolist(),
        "labels": labels.astype(float).tolist(),
        "expected": {
            "inertia": float(inertia),
            "silhouette": metrics.silhouette_score(x, labels, metric="euclidean"),
            "sizes": np.bincount(labels).tolist(),
        },
    }]


def main():
    rng = np.random.default_rng(SEED)
    out = {
        "generated_by": "/usr/bin/python3 scripts/reference/ml_metrics.py",
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "classification": classification_cases(rng),
        "regression": regression_cases(rng),
        "clustering": clustering_cases(rng),
    }
    text = json.dumps(out, indent=None, separators=(",", ":"), default=float)
    (HERE / "metrics.json").write_text(text + "\n")
    print(f"wrote {HERE / 'metrics.json'} ({len(text)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
