// Evaluation metrics stored with every trained model, and the reports the training job saves as
// JSON. Every metric follows scikit-learn 1.2.1's definition, including its edge cases, so a score
// shown by the platform can be reproduced with scikit-learn; where scikit-learn raises (the metric
// is undefined) these functions return NaN and the reports write null.
//
// Labels follow model.h: class indices 0..classes-1 as doubles for classification, cluster indices
// (non-negative integers) for clustering. Every function throws core::Error(kValidation) when the
// inputs do not fit together (different lengths, no rows, a label that is not a class index, a
// non-finite score), naming the argument and the row.
//
// All functions are pure and safe to call concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ml/model.h"

namespace playground::ml {

// At most this many points are stored per ROC or precision-recall curve.
inline constexpr std::size_t kCurvePoints = 200;
// At most this many (predicted, residual) pairs are stored for a regression's residual plot.
inline constexpr std::size_t kResidualPoints = 500;
// Log loss clips probabilities to [eps, 1 - eps]. This is scikit-learn's classic default (up to
// 1.1); scikit-learn 1.2's eps="auto" uses the float64 machine epsilon instead, which callers
// can pass explicitly. The two differ only when a probability is below 1e-15 or above 1 - 1e-15.
inline constexpr double kLogLossEps = 1e-15;

// ---------------------------------------------------------------------------------------------
// Classification from predicted labels.

// Fraction of rows where y_pred equals y_true.
double Accuracy(std::span<const double> y_true, std::span<const double> y_pred);

// Mean recall over the classes present in y_true (classes only predicted are ignored, as
// scikit-learn's balanced_accuracy_score does).
double BalancedAccuracy(std::span<const double> y_true, std::span<const double> y_pred, std::size_t classes);

// counts[t][p] = rows with true class t predicted as class p, for every class 0..classes-1.
std::vector<std::vector<std::size_t>> ConfusionMatrix(std::span<const double> y_true, std::span<const double> y_pred,
                                                      std::size_t classes);

// Per-class precision, recall and F1 with zero_division=0 (a ratio whose denominator is zero is 0),
// as precision_recall_fscore_support(labels=range(classes), zero_division=0). Thread-compatible.
struct ClassScores {
  std::vector<double> precision;  // indexed by class
  std::vector<double> recall;
  std::vector<double> f1;
  std::vector<std::size_t> support;  // rows of each class in y_true
  // Unweighted means over the classes present in y_true or y_pred (scikit-learn's default labels);
  // a declared class that occurs in neither does not pull the average down.
  double precision_macro = 0;
  double recall_macro = 0;
  double f1_macro = 0;
  // Means weighted by support.
  double precision_weighted = 0;
  double recall_weighted = 0;
  double f1_weighted = 0;
};
ClassScores PrecisionRecallF1(std::span<const double> y_true, std::span<const double> y_pred, std::size_t classes);

// ---------------------------------------------------------------------------------------------
// Classification from scores. The binary overloads take y_true in {0, 1} and one score per row for
// class 1. The multiclass overloads take `probabilities`, rows x classes row-major; with
// classes == 2 they score column 1 as the binary overloads do.

// Area under the ROC curve, ties counted as half (roc_auc_score). Multiclass: the unweighted mean
// of the one-vs-rest AUCs (multi_class="ovr", average="macro"). NaN when y_true has a single class
// or, for multiclass, when any class is missing from y_true (scikit-learn raises). Unlike
// scikit-learn, rows need not sum to 1: the one-vs-rest AUC does not depend on it.
double RocAuc(std::span<const double> y_true, std::span<const double> scores);
double RocAuc(std::span<const double> y_true, std::span<const double> probabilities, std::size_t classes);

// Area under the precision-recall curve as average_precision_score: the step-wise sum of
// (R_n - R_{n-1}) * P_n over thresholds, not a trapezoid. Multiclass: the unweighted mean of the
// one-vs-rest scores (what scikit-learn 1.3's multiclass mode computes). NaN when y_true has no
// positive row, or for multiclass when any class is missing from y_true (scikit-learn 1.2.1 warns
// and returns 0 for a binary y_true without positives; 0 would rank such a model, so we refuse).
double AveragePrecision(std::span<const double> y_true, std::span<const double> scores);
double AveragePrecision(std::span<const double> y_true, std::span<const double> probabilities, std::size_t classes);

// Mean negative log-likelihood of the true class, as log_loss(labels=range(classes), eps=eps):
// each probability is clipped to [eps, 1 - eps], then each row is divided by its sum.
double LogLoss(std::span<const double> y_true, std::span<const double> probabilities, std::size_t classes,
               double eps = kLogLossEps);

// roc_curve(drop_intermediate=True): points from (0, 0) to (1, 1) in order of decreasing
// threshold, so fpr and tpr never decrease. thresholds[0] is the highest score + 1 (scikit-learn
// 1.2's convention; 1.3 uses infinity). fpr (tpr) is NaN throughout when y_true has no negative
// (positive) row. Thread-compatible.
struct RocCurvePoints {
  std::vector<double> fpr;
  std::vector<double> tpr;
  std::vector<double> thresholds;
};

// precision_recall_curve: one point per distinct score in order of increasing threshold (recall
// never increases), then the final point (recall 0, precision 1), which has no threshold, so
// thresholds.size() == precision.size() - 1. Recall is 1 throughout when y_true has no positive
// row. Thread-compatible.
struct PrCurvePoints {
  std::vector<double> precision;
  std::vector<double> recall;
  std::vector<double> thresholds;
};

// y_true in {0, 1}, scores for class 1. The full curve is computed in O(n log n) and then thinned
// to at most max_points points by DownsampleIndices (0 keeps every point).
RocCurvePoints RocCurve(std::span<const double> y_true, std::span<const double> scores,
                        std::size_t max_points = kCurvePoints);
PrCurvePoints PrCurve(std::span<const double> y_true, std::span<const double> scores,
                      std::size_t max_points = kCurvePoints);

// Which of `n` ordered points to keep so that at most max_points remain: all of them when
// n <= max_points or max_points == 0, otherwise max(max_points, 2) indices spread evenly over
// 0..n-1 (rounded to the nearest), strictly increasing, always including the first and the last.
std::vector<std::size_t> DownsampleIndices(std::size_t n, std::size_t max_points);

// ---------------------------------------------------------------------------------------------
// Regression. Values must be finite.

double MeanAbsoluteError(std::span<const double> y_true, std::span<const double> y_pred);
double RootMeanSquaredError(std::span<const double> y_true, std::span<const double> y_pred);
// r2_score: 1 - SS_res / SS_tot. When y_true is constant: 1 for a perfect prediction, else 0
// (force_finite). NaN with fewer than two rows.
double R2(std::span<const double> y_true, std::span<const double> y_pred);
// mean(|y_true - y_pred| / max(|y_true|, DBL_EPSILON)): a zero target gives a huge but finite
// term, as in scikit-learn.
double MeanAbsolutePercentageError(std::span<const double> y_true, std::span<const double> y_pred);

// ---------------------------------------------------------------------------------------------
// Clustering. `labels` holds one cluster index per row of x; indices need not be contiguous
// (an index no row uses is an empty cluster).

// Sum over rows of the squared euclidean distance to the mean of the row's cluster. NaN features
// give NaN.
double Inertia(const Matrix& x, std::span<const double> labels);

// The rows Silhouette scores: every row when sample_size == 0 or rows <= sample_size; otherwise
// sample_size distinct rows drawn uniformly without replacement (a partial Fisher-Yates shuffle
// driven by std::mt19937_64(seed), which the standard fixes bit for bit, so a seed gives the same
// rows on every platform), returned in increasing order.
std::vector<std::size_t> SilhouetteSampleRows(std::size_t rows, std::size_t sample_size, std::uint64_t seed);

// Mean silhouette coefficient with euclidean distance, as silhouette_score computed on the rows
// SilhouetteSampleRows picks (scikit-learn also scores a sample as if it were the whole data,
// though its sample differs: it draws with numpy's generator). A row alone in its cluster scores
// 0. NaN unless the scored rows hold between 2 and rows - 1 distinct clusters. Costs
// O(s^2 * cols) for s scored rows, on the calling thread.
double Silhouette(const Matrix& x, std::span<const double> labels, std::size_t sample_size, std::uint64_t seed);

// ---------------------------------------------------------------------------------------------
// Reports. Every number that is undefined is null, never NaN.

// Keys:
//   classes            class_names, in class-index order
//   rows               number of rows scored
//   accuracy           Accuracy
//   balanced_accuracy  BalancedAccuracy
//   precision, recall, f1
//                      {"per_class": {class name: value}, "macro": value, "weighted": value},
//                      see ClassScores
//   support            {class name: rows of that class in y_true}
//   confusion_matrix   {"labels": class names, "matrix": counts[true][predicted]}
//   roc_auc, pr_auc    RocAuc / AveragePrecision (binary: class 1's probability; multiclass:
//                      one-vs-rest macro); null without probabilities or when undefined
//   log_loss           LogLoss with kLogLossEps; null without probabilities
//   roc_curve          null without probabilities, else a list of
//                      {"class": name, "fpr": [...], "tpr": [...], "thresholds": [...]}:
//                      binary, one entry for class 1; multiclass, one per class (one-vs-rest)
//                      that has both positive and negative rows in y_true. At most kCurvePoints
//                      points each.
//   pr_curve           likewise {"class", "precision", "recall", "thresholds"} (thresholds one
//                      shorter, see PrCurvePoints), one per class with a positive row in y_true
// `predicted.values` are predicted class indices; `predicted.probabilities` may be empty.
nlohmann::json ClassificationReport(std::span<const double> y_true, const Predictions& predicted,
                                    const std::vector<std::string>& class_names);

// Keys:
//   rows                          number of rows scored
//   mae, rmse, r2, mape           the functions above (r2 null with fewer than two rows)
//   residuals                     summary of y_true - y_pred: mean, std (population, ddof 0),
//                                 min, p5, p25, median, p75, p95, max (percentiles interpolate
//                                 linearly, as numpy's default)
//   residual_plot                 {"predicted": [...], "residual": [...]}: at most kResidualPoints
//                                 rows, evenly spaced in input order (DownsampleIndices)
nlohmann::json RegressionReport(std::span<const double> y_true, std::span<const double> y_pred);

// Keys:
//   rows            number of rows
//   clusters        number of non-empty clusters
//   cluster_sizes   rows per cluster index 0..max index (0 for an empty cluster)
//   inertia         Inertia (null when a feature is NaN)
//   silhouette      Silhouette(x, labels, silhouette_sample, seed); null when undefined
//   silhouette_rows how many rows the silhouette was computed on
nlohmann::json ClusteringReport(const Matrix& x, std::span<const double> labels, std::size_t silhouette_sample,
                                std::uint64_t seed);

// ---------------------------------------------------------------------------------------------
// Leaderboard: which report values models are ranked by.

// The metrics shown for a task, in display order: binary and multiclass accuracy,
// balanced_accuracy, f1_macro, roc_auc, pr_auc, log_loss; regression rmse, mae, r2, mape;
// clustering silhouette, inertia.
std::vector<std::string> LeaderboardMetrics(Task task);
// True when a larger value is better. Throws core::Error(kValidation) for an unknown metric.
bool HigherIsBetter(std::string_view metric);
// {metric: value} for LeaderboardMetrics(task), read from a report built above for that task
// (f1_macro is f1.macro); null where the report holds null or lacks the value.
nlohmann::json LeaderboardValues(const nlohmann::json& report, Task task);

}  // namespace playground::ml
