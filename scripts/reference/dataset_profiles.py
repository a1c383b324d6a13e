#!/usr/bin/python3
"""Reference profiles of the test datasets, computed with pandas and numpy.

For every tests/fixtures/datasets/<name>.csv this writes <name>.expected.json with the row count,
the column names, the type the platform is expected to infer for each column, the profile values
pandas/numpy compute for it and the correlation matrix. The server's tests compare their own
results with these files, so the expected values come from the libraries data scientists trust,
not from the code under test.

Run with Debian's interpreter (python3-pandas and python3-numpy), from the repository root:

    /usr/bin/python3 scripts/reference/dataset_profiles.py

The output is deterministic for given pandas and numpy versions (recorded in each file). Floats
are written with Python's repr (the shortest text that reads back to the same double).

Type mapping (pandas dtype after read_csv with its default missing-value spellings):
  int64                       -> integer
  float64                     -> number
  bool                        -> boolean
  object, where every non-missing value parses as ISO 8601 (pandas.to_datetime)
                              -> date when every value is a plain date (YYYY-MM-DD), else datetime
  other object                -> category when distinct <= 1000 and distinct * 2 <= count,
                                 else text

Per column (null where it does not apply, as in the server's profile):
  count, missing, distinct                       all types (Series.count, isna().sum, nunique)
  min, max, mean, std (ddof=1), quantiles        integer and number (Series.quantile, linear)
  histogram                                      integer and number (numpy.histogram, bins=20)
  min, max as text                               date (YYYY-MM-DD), datetime (ISO 8601 with Z)
  top_values                                     category, text, boolean: value_counts, the ten
                                                 largest; ties ordered by value so that the list
                                                 is deterministic (the server orders them so too)
Correlation: DataFrame.corr(numeric_only=True) (Pearson, pairwise-complete rows); NaN -> null.
"""

import json
import math
import pathlib
import re
import sys

import numpy as np
import pandas as pd

DATASETS = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "datasets"
QUANTILES = [("p1", 0.01), ("p5", 0.05), ("p25", 0.25), ("p50", 0.50), ("p75", 0.75), ("p95", 0.95), ("p99", 0.99)]
MAX_CATEGORIES = 1000
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# ISO 8601 date or date-time (pandas < 2.0 has no format="ISO8601", so the shape is checked here
# and pandas.to_datetime does the parsing).
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def number(v):
    """A JSON-safe Python number (numpy scalars converted; NaN and infinities become None)."""
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = float(v)
    return v if math.isfinite(v) else None


def parses_as_datetime(values):
    if len(values) == 0:
        return False
    strings = values.astype(str)
    if int(pd.__version__.split(".")[0]) >= 2:
        try:
            pd.to_datetime(strings, format="ISO8601")
            return True
        except (ValueError, TypeError):
            return False
    if not all(ISO_DATETIME.match(s) for s in strings):
        return False
    try:
        pd.to_datetime(strings)
        return True
    except (ValueError, TypeError):
        return False


def expected_type(series):
    kind = series.dtype.kind
    if kind == "i":
        return "integer"
    if kind == "f":
        return "number"
    if kind == "b":
        return "boolean"
    values = series.dropna()
    if parses_as_datetime(values):
        return "date" if all(ISO_DATE.match(str(s)) for s in values) else "datetime"
    distinct = values.nunique()
    if distinct <= MAX_CATEGORIES and distinct * 2 <= len(values):
        return "category"
    return "text"


def format_datetime(ts, date):
    if date:
        return ts.strftime("%Y-%m-%d")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.microsecond:
        text += (".%06d" % ts.microsecond).rstrip("0")
    return text + "Z"


def top_values(series):
    counts = series.dropna().map(lambda v: ("true" if v else "false") if isinstance(v, (bool, np.bool_)) else str(v))
    pairs = sorted(counts.value_counts().items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"value": value, "count": int(count)} for value, count in pairs[:10]]


def profile_column(name, series):
    kind = expected_type(series)
    out = {
        "name": name,
        "type": kind,
        "count": int(series.count()),
        "missing": int(series.isna().sum()),
        "distinct": int(series.nunique()),
        "min": None,
        "max": None,
        "mean": None,
        "std": None,
        "quantiles": None,
        "histogram": None,
        "top_values": None,
    }
    values = series.dropna()
    if kind in ("integer", "number") and len(values) > 0:
        out["min"] = number(values.min())
        out["max"] = number(values.max())
        out["mean"] = number(values.mean())
        out["std"] = number(values.std(ddof=1))
        q = values.quantile([p for _, p in QUANTILES])
        out["quantiles"] = {key: number(q.iloc[i]) for i, (key, _) in enumerate(QUANTILES)}
        counts, edges = np.histogram(values.to_numpy(), bins=20)
        out["histogram"] = {"edges": [number(e) for e in edges], "counts": [int(c) for c in counts]}
    elif kind in ("date", "datetime") and len(values) > 0:
        stamps = pd.to_datetime(values.astype(str))
        out["min"] = format_datetime(stamps.min(), kind == "date")
        out["max"] = format_datetime(stamps.max(), kind == "date")
    elif kind in ("category", "text", "boolean"):
        out["top_values"] = top_values(series)
    return out


def profile(path):
    df = pd.read_csv(path)
    corr = df.corr(numeric_only=True)
    return {
        "source": path.name,
        "generated_by": "scripts/reference/dataset_profiles.py with pandas %s, numpy %s" % (pd.__version__, np.__version__),
        "rows": int(len(df)),
        "column_names": [str(c) for c in df.columns],
        "columns": [profile_column(str(c), df[c]) for c in df.columns],
        "correlation": {
            "columns": [str(c) for c in corr.columns],
            "matrix": [[number(v) for v in row] for row in corr.to_numpy()],
        },
    }


def main():
    paths = sorted(DATASETS.glob("*.csv"))
    if not paths:
        sys.exit("no CSV files in %s" % DATASETS)
    for path in paths:
        result = profile(path)
        out = path.with_name(path.stem + ".expected.json")
        out.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
        print("%s: %d rows, %d columns" % (out.name, result["rows"], len(result["columns"])))


if __name__ == "__main__":
    main()
