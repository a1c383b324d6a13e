// The column profile of a dataset: per column counts, distinct values, summary statistics,
// quantiles, a histogram or the most frequent values, and the correlation matrix of the numeric
// columns. Computed from a finished dataset file, one column at a time per thread, in passes over
// the memory-mapped columns, so that memory stays within a budget whatever the number of rows or
// columns.
//
// The numbers follow pandas/numpy so that the platform agrees with what a data scientist sees:
// std is the sample standard deviation (ddof=1), quantiles interpolate linearly (numpy's default),
// the histogram has 20 equal-width bins from min to max with the last bin closed
// (numpy.histogram(bins=20)), and correlations are Pearson's over pairwise-complete rows
// (pandas DataFrame.corr()).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>

#include "data/columnar.h"

namespace playground::data {

// Thread-compatible (a plain value).
struct ProfileOptions {
  // Worker threads; the columns (and then the row groups, for correlations) are shared among them.
  int threads = 2;
  // Correlations cover the first this many numeric columns (integer, number, boolean) in schema
  // order: the matrix grows with the square of the count, and a 10,000-column dataset's full
  // matrix (100 million entries) would be neither computable in time nor readable.
  size_t max_correlation_columns = 100;
  // Distinct values are counted exactly (a set of 64-bit XXH3 hashes, whose collisions are
  // negligible at this size) up to this many, then estimated with HyperLogLog (error ~0.8%).
  // Text columns count their top values among the first this many distinct values seen. The
  // memory budget below may lower both limits.
  size_t exact_distinct_limit = 1'000'000;
  // The working memory of the profile across all its threads stays within about this many bytes
  // whatever the number of rows (the file itself is read through its mapping, not copied). Each
  // thread gets an equal share: 5/8 of it bounds the distinct values counted exactly (48 bytes
  // each in a numeric or temporal column's hash set, 128 with a text value's count), so a smaller
  // budget switches to HyperLogLog ("distinct_method": "hll") at fewer distinct values; the rest
  // holds the quantiles' histograms (exact quantiles need no copy of a column) and, afterwards,
  // the correlation's row chunks. Fixed costs come on top: a few hundred KiB per thread, and the
  // output (per column, not per row).
  size_t memory_budget_bytes = 256 << 20;
};

// Returns
//   {"rows": N,
//    "columns": [{"name", "type", "count" (non-missing), "missing", "distinct",
//                 "distinct_method": "exact"|"hll", "min", "max", "mean", "std",
//                 "quantiles": {"p1", "p5", "p25", "p50", "p75", "p95", "p99"},
//                 "histogram": {"edges": [21 numbers], "counts": [20 counts]},
//                 "top_values": [{"value", "count"}, ...]}, ...],
//    "correlation": {"columns": [names], "matrix": [[r or null, ...], ...]}}
// Every column has every key; a key that does not apply to its type (or to a column without
// values) is null. Integer and number columns get min/max/mean/std/quantiles/histogram; date and
// datetime columns min/max as text (YYYY-MM-DD, ISO 8601); category, text and boolean columns the
// ten most frequent values (by count descending, then value ascending; booleans as
// "true"/"false"). A NaN in a number column counts as missing, as in pandas. A correlation is
// null where it is undefined (a column constant over the rows both columns have, or fewer than
// two such rows). Throws core::Error kInternal when the file is corrupt.
nlohmann::json ComputeProfile(const ColumnarFile& file, const ProfileOptions& options = {});

}  // namespace playground::data
