// Evaluation metrics and reports (see metrics.h). Written by hand because no Debian-packaged C++
// library implements scikit-learn's metric definitions and edge cases; each function names the
// scikit-learn function it reproduces. Curves and AUCs sort the scores once per class, O(n log n).
#include "ml/metrics.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <utility>

#include "core/error.h"

namespace playground::ml {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Cluster indices above this are refused: cluster_sizes is an array indexed by cluster.
constexpr std::size_t kMaxClusterIndex = std::size_t{1} << 20;

[[noreturn]] void Invalid(const std::string& message) { core::Fail(core::ErrorCode::kValidation, message); }

std::string Show(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// JSON for a metric: null instead of NaN or infinity, which JSON cannot hold.
nlohmann::json Number(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr); }

void CheckSameRows(std::size_t first, std::string_view first_name, std::size_t second, std::string_view second_name) {
  if (first == 0) Invalid("there are no rows to score: " + std::string(first_name) + " is empty");
  if (first != second) {
    Invalid(std::string(first_name) + " has " + std::to_string(first) + " values but " + std::string(second_name) +
            " has " + std::to_string(second) + "; both need one per row");
  }
}

void CheckClasses(std::size_t classes) {
  if (classes < 2) Invalid("classification needs at least 2 classes (got " + std::to_string(classes) + ")");
}

// The class index of every row; refuses a value that is not an integer in 0..classes-1.
std::vector<std::size_t> ClassIndices(std::span<const double> y, std::size_t classes, std::string_view name) {
  std::vector<std::size_t> out(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    double value = y[i];
    if (!(value >= 0 && value < static_cast<double>(classes)) || value != std::floor(value)) {
      Invalid(std::string(name) + "[" + std::to_string(i) + "] = " + Show(value) +
              " is not a class index: expected an integer from 0 to " + std::to_string(classes - 1));
    }
    out[i] = static_cast<std::size_t>(value);
  }
  return out;
}

void CheckFinite(std::span<const double> values, std::string_view name) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      Invalid(std::string(name) + "[" + std::to_string(i) + "] = " + Show(values[i]) + " is not a finite number");
    }
  }
}

void CheckProbabilities(std::span<const double> probabilities, std::size_t rows, std::size_t classes) {
  if (probabilities.size() != rows * classes) {
    Invalid("probabilities has " + std::to_string(probabilities.size()) +
            " values; expected rows x classes = " + std::to_string(rows) + " x " + std::to_string(classes));
  }
  CheckFinite(probabilities, "probabilities");
}

// scikit-learn's _binary_clf_curve: cumulative false and true positives at each distinct score,
// scores in decreasing order. Counts are exact in doubles up to 2^53 rows.
struct Ranking {
  std::vector<double> fps;
  std::vector<double> tps;
  std::vector<double> thresholds;
  double positives() const { return tps.empty() ? 0 : tps.back(); }
  double negatives() const { return fps.empty() ? 0 : fps.back(); }
};

Ranking Rank(std::vector<std::pair<double, bool>> scored) {
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  Ranking out;
  double tp = 0;
  double fp = 0;
  for (std::size_t i = 0; i < scored.size(); ++i) {
    (scored[i].second ? tp : fp) += 1;
    if (i + 1 == scored.size() || scored[i + 1].first != scored[i].first) {
      out.fps.push_back(fp);
      out.tps.push_back(tp);
      out.thresholds.push_back(scored[i].first);
    }
  }
  return out;
}

// Binary y_true (validated to {0, 1}) against one score per row.
Ranking RankBinary(std::span<const double> y_true, std::span<const double> scores) {
  CheckSameRows(y_true.size(), "y_true", scores.size(), "scores");
  auto labels = ClassIndices(y_true, 2, "y_true");
  CheckFinite(scores, "scores");
  std::vector<std::pair<double, bool>> scored(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) scored[i] = {scores[i], labels[i] == 1};
  return Rank(std::move(scored));
}

// One-vs-rest ranking of column `positive` of validated rows x classes probabilities.
Ranking RankColumn(const std::vector<std::size_t>& labels, std::span<const double> probabilities, std::size_t classes,
                   std::size_t positive) {
  std::vector<std::pair<double, bool>> scored(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i)
    scored[i] = {probabilities[i * classes + positive], labels[i] == positive};
  return Rank(std::move(scored));
}

// Trapezoidal area under (fpr, tpr), computed on the counts so it is exact until the final
// division; a tie group is one diagonal segment, which is what counts a tied pair as half.
double AucOf(const Ranking& r) {
  double p = r.positives();
  double n = r.negatives();
  if (p == 0 || n == 0) return kNaN;
  double area = 0;
  double previous_fp = 0;
  double previous_tp = 0;
  for (std::size_t i = 0; i < r.fps.size(); ++i) {
    area += (r.fps[i] - previous_fp) * (r.tps[i] + previous_tp);
    previous_fp = r.fps[i];
    previous_tp = r.tps[i];
  }
  return area / (2 * p * n);
}

// average_precision_score: sum over thresholds of (recall gained) x precision.
double AveragePrecisionOf(const Ranking& r) {
  double p = r.positives();
  if (p == 0) return kNaN;
  double sum = 0;
  double previous_tp = 0;
  for (std::size_t i = 0; i < r.tps.size(); ++i) {
    sum += (r.tps[i] - previous_tp) / p * (r.tps[i] / (r.tps[i] + r.fps[i]));
    previous_tp = r.tps[i];
  }
  return sum;
}

RocCurvePoints RocOf(const Ranking& r, std::size_t max_points) {
  // roc_curve(drop_intermediate=True) keeps a point only where the curve turns: both second
  // differences of the counts are zero on a straight run.
  std::vector<std::size_t> kept;
  std::size_t n = r.fps.size();
  for (std::size_t i = 0; i < n; ++i) {
    bool corner = n <= 2 || i == 0 || i + 1 == n || (r.fps[i + 1] - r.fps[i]) - (r.fps[i] - r.fps[i - 1]) != 0 ||
                  (r.tps[i + 1] - r.tps[i]) - (r.tps[i] - r.tps[i - 1]) != 0;
    if (corner) kept.push_back(i);
  }
  double p = r.positives();
  double negatives = r.negatives();
  RocCurvePoints full;
  full.fpr.push_back(0);
  full.tpr.push_back(0);
  full.thresholds.push_back(r.thresholds.front() + 1);
  for (auto i : kept) {
    full.fpr.push_back(r.fps[i]);
    full.tpr.push_back(r.tps[i]);
    full.thresholds.push_back(r.thresholds[i]);
  }
  for (auto& v : full.fpr) v = negatives > 0 ? v / negatives : kNaN;
  for (auto& v : full.tpr) v = p > 0 ? v / p : kNaN;

  auto keep = DownsampleIndices(full.fpr.size(), max_points);
  RocCurvePoints out;
  for (auto i : keep) {
    out.fpr.push_back(full.fpr[i]);
    out.tpr.push_back(full.tpr[i]);
    out.thresholds.push_back(full.thresholds[i]);
  }
  return out;
}

PrCurvePoints PrOf(const Ranking& r, std::size_t max_points) {
  double p = r.positives();
  std::size_t n = r.tps.size();
  // Points in increasing threshold order, then the closing (recall 0, precision 1).
  PrCurvePoints full;
  for (std::size_t k = n; k-- > 0;) {
    double predicted = r.tps[k] + r.fps[k];
    full.precision.push_back(predicted != 0 ? r.tps[k] / predicted : 0);
    full.recall.push_back(p > 0 ? r.tps[k] / p : 1);
    full.thresholds.push_back(r.thresholds[k]);
  }
  full.precision.push_back(1);
  full.recall.push_back(0);

  auto keep = DownsampleIndices(full.precision.size(), max_points);
  PrCurvePoints out;
  for (auto i : keep) {
    out.precision.push_back(full.precision[i]);
    out.recall.push_back(full.recall[i]);
    if (i < full.thresholds.size()) out.thresholds.push_back(full.thresholds[i]);
  }
  return out;
}

// The per-class rankings of a multiclass problem, or nothing when some class lacks positive or
// negative rows (scikit-learn raises for the one-vs-rest scores then).
std::vector<Ranking> RankAllClasses(std::span<const double> y_true, std::span<const double> probabilities,
                                    std::size_t classes, bool need_negatives) {
  auto labels = ClassIndices(y_true, classes, "y_true");
  std::vector<Ranking> out;
  for (std::size_t c = 0; c < classes; ++c) {
    auto ranking = RankColumn(labels, probabilities, classes, c);
    if (ranking.positives() == 0 || (need_negatives && ranking.negatives() == 0)) return {};
    out.push_back(std::move(ranking));
  }
  return out;
}

void CheckScoredClasses(std::span<const double> y_true, std::span<const double> probabilities, std::size_t classes) {
  CheckClasses(classes);
  if (y_true.empty()) Invalid("there are no rows to score: y_true is empty");
  CheckProbabilities(probabilities, y_true.size(), classes);
}

// Column 1 of a rows x 2 probability matrix.
std::vector<double> PositiveColumn(std::span<const double> probabilities) {
  std::vector<double> out(probabilities.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = probabilities[2 * i + 1];
  return out;
}

void CheckRegression(std::span<const double> y_true, std::span<const double> y_pred) {
  CheckSameRows(y_true.size(), "y_true", y_pred.size(), "y_pred");
  CheckFinite(y_true, "y_true");
  CheckFinite(y_pred, "y_pred");
}

// np.percentile's default (linear) interpolation, including numpy's two-sided lerp, on sorted
// values.
double Percentile(const std::vector<double>& sorted, double percent) {
  double index = static_cast<double>(sorted.size() - 1) * (percent / 100);
  auto below = static_cast<std::size_t>(std::floor(index));
  std::size_t above = std::min(below + 1, sorted.size() - 1);
  double gamma = index - static_cast<double>(below);
  double a = sorted[below];
  double b = sorted[above];
  double diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

// Cluster index of every row; refuses negative, fractional or huge values.
std::vector<std::size_t> ClusterIndices(const Matrix& x, std::span<const double> labels) {
  CheckSameRows(x.rows, "x", labels.size(), "labels");
  if (x.values.size() != x.rows * x.cols)
    Invalid("x holds " + std::to_string(x.values.size()) + " values, not rows x cols");
  std::vector<std::size_t> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    double value = labels[i];
    if (!(value >= 0 && value < static_cast<double>(kMaxClusterIndex)) || value != std::floor(value)) {
      Invalid("labels[" + std::to_string(i) + "] = " + Show(value) +
              " is not a cluster index: expected an integer from 0 to " + std::to_string(kMaxClusterIndex - 1));
    }
    out[i] = static_cast<std::size_t>(value);
  }
  return out;
}

std::vector<std::size_t> ClusterSizes(const std::vector<std::size_t>& clusters) {
  std::vector<std::size_t> sizes(*std::max_element(clusters.begin(), clusters.end()) + 1, 0);
  for (auto c : clusters) ++sizes[c];
  return sizes;
}

// A uniform integer in [0, bound) from 64 random bits, without modulo bias. Written out because
// std::uniform_int_distribution's algorithm is left to the standard library, so it would pick
// different rows on different platforms.
std::uint64_t UniformBelow(std::mt19937_64& engine, std::uint64_t bound) {
  // 2^64 mod bound: draws below it would make the low residues more likely.
  std::uint64_t reject_below = (0 - bound) % bound;
  while (true) {
    std::uint64_t draw = engine();
    if (draw >= reject_below) return draw % bound;
  }
}

double Distance(std::span<const float> a, std::span<const float> b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    sum += d * d;
  }
  return std::sqrt(sum);
}

enum class TaskGroup { kClassification, kRegression, kClustering };

TaskGroup GroupOf(Task task) {
  if (IsClassification(task)) return TaskGroup::kClassification;
  return task == Task::kRegression ? TaskGroup::kRegression : TaskGroup::kClustering;
}

// The one table of leaderboard metrics: name, the task it ranks, its direction and where the
// report keeps it (a JSON pointer).
struct LeaderboardMetric {
  std::string_view name;
  TaskGroup group;
  bool higher_is_better;
  std::string_view pointer;
};

constexpr std::array<LeaderboardMetric, 12> kLeaderboard = {{
    {"accuracy", TaskGroup::kClassification, true, "/accuracy"},
    {"balanced_accuracy", TaskGroup::kClassification, true, "/balanced_accuracy"},
    {"f1_macro", TaskGroup::kClassification, true, "/f1/macro"},
    {"roc_auc", TaskGroup::kClassification, true, "/roc_auc"},
    {"pr_auc", TaskGroup::kClassification, true, "/pr_auc"},
    {"log_loss", TaskGroup::kClassification, false, "/log_loss"},
    {"rmse", TaskGroup::kRegression, false, "/rmse"},
    {"mae", TaskGroup::kRegression, false, "/mae"},
    {"r2", TaskGroup::kRegression, true, "/r2"},
    {"mape", TaskGroup::kRegression, false, "/mape"},
    {"silhouette", TaskGroup::kClustering, true, "/silhouette"},
    {"inertia", TaskGroup::kClustering, false, "/inertia"},
}};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Classification from labels.

double Accuracy(std::span<const double> y_true, std::span<const double> y_pred) {
  CheckSameRows(y_true.size(), "y_true", y_pred.size(), "y_pred");
  std::size_t correct = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) correct += y_true[i] == y_pred[i] ? 1 : 0;
  return static_cast<double>(correct) / static_cast<double>(y_true.size());
}

std::vector<std::vector<std::size_t>> ConfusionMatrix(std::span<const double> y_true, std::span<const double> y_pred,
                                                      std::size_t classes) {
  CheckClasses(classes);
  CheckSameRows(y_true.size(), "y_true", y_pred.size(), "y_pred");
  auto truth = ClassIndices(y_true, classes, "y_true");
  auto predicted = ClassIndices(y_pred, classes, "y_pred");
  std::vector<std::vector<std::size_t>> counts(classes, std::vector<std::size_t>(classes, 0));
  for (std::size_t i = 0; i < truth.size(); ++i) ++counts[truth[i]][predicted[i]];
  return counts;
}

double BalancedAccuracy(std::span<const double> y_true, std::span<const double> y_pred, std::size_t classes) {
  auto counts = ConfusionMatrix(y_true, y_pred, classes);
  double sum = 0;
  std::size_t present = 0;
  for (std::size_t c = 0; c < classes; ++c) {
    auto support = std::accumulate(counts[c].begin(), counts[c].end(), std::size_t{0});
    if (support == 0) continue;
    sum += static_cast<double>(counts[c][c]) / static_cast<double>(support);
    ++present;
  }
  return sum / static_cast<double>(present);
}

ClassScores PrecisionRecallF1(std::span<const double> y_true, std::span<const double> y_pred, std::size_t classes) {
  auto counts = ConfusionMatrix(y_true, y_pred, classes);
  ClassScores out;
  double present = 0;
  double total_support = 0;
  for (std::size_t c = 0; c < classes; ++c) {
    double tp = static_cast<double>(counts[c][c]);
    double support = 0;
    double predicted = 0;
    for (std::size_t other = 0; other < classes; ++other) {
      support += static_cast<double>(counts[c][other]);
      predicted += static_cast<double>(counts[other][c]);
    }
    double precision = predicted > 0 ? tp / predicted : 0;
    double recall = support > 0 ? tp / support : 0;
    // The same expression as scikit-learn 1.2 (F from the zero_division-adjusted P and R), so
    // results agree to the last bit where they can.
    double denominator = precision + recall;
    double f1 = 2.0 * precision * recall / (denominator == 0 ? 1 : denominator);
    out.precision.push_back(precision);
    out.recall.push_back(recall);
    out.f1.push_back(f1);
    out.support.push_back(static_cast<std::size_t>(support));
    if (support > 0 || predicted > 0) {
      present += 1;
      out.precision_macro += precision;
      out.recall_macro += recall;
      out.f1_macro += f1;
    }
    total_support += support;
    out.precision_weighted += precision * support;
    out.recall_weighted += recall * support;
    out.f1_weighted += f1 * support;
  }
  out.precision_macro /= present;
  out.recall_macro /= present;
  out.f1_macro /= present;
  out.precision_weighted /= total_support;
  out.recall_weighted /= total_support;
  out.f1_weighted /= total_support;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Classification from scores.

double RocAuc(std::span<const double> y_true, std::span<const double> scores) {
  return AucOf(RankBinary(y_true, scores));
}

double RocAuc(std::span<const double> y_true, std::span<const double> probabilities, std::size_t classes) {
  CheckScoredClasses(y_true, probabilities, classes);
  if (classes == 2) return RocAuc(y_true, PositiveColumn(probabilities));
  auto rankings = RankAllClasses(y_true, probabilities, classes, true);
  if (rankings.empty()) return kNaN;
  double sum = 0;
  for (const auto& ranking : rankings) sum += AucOf(ranking);
  return sum / static_cast<double>(classes);
}

double AveragePrecision(std::span<const double> y_true, std::span<const double> scores) {
  return AveragePrecisionOf(RankBinary(y_true, scores));
}

double AveragePrecision(std::span<const double> y_true, std::span<const double> probabilities, std::size_t classes) {
  CheckScoredClasses(y_true, probabilities, classes);
  if (classes == 2) return AveragePrecision(y_true, PositiveColumn(probabilities));
  auto rankings = RankAllClasses(y_true, probabilities, classes, false);
  if (rankings.empty()) return kNaN;
  double sum = 0;
  for (const auto& ranking : rankings) sum += AveragePrecisionOf(ranking);
  return sum / static_cast<double>(classes);
}

double LogLoss(std::span<const double> y_true, std::span<const double> probabilities, std::size_t classes, double eps) {
  CheckScoredClasses(y_true, probabilities, classes);
  if (!(eps >= 0 && eps < 0.5)) Invalid("log loss eps must be in [0, 0.5) (got " + Show(eps) + ")");
  auto labels = ClassIndices(y_true, classes, "y_true");
  double total = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto row = probabilities.subspan(i * classes, classes);
    double sum = 0;
    for (double p : row) sum += std::clamp(p, eps, 1 - eps);
    total += -std::log(std::clamp(row[labels[i]], eps, 1 - eps) / sum);
  }
  return total / static_cast<double>(labels.size());
}

RocCurvePoints RocCurve(std::span<const double> y_true, std::span<const double> scores, std::size_t max_points) {
  return RocOf(RankBinary(y_true, scores), max_points);
}

PrCurvePoints PrCurve(std::span<const double> y_true, std::span<const double> scores, std::size_t max_points) {
  return PrOf(RankBinary(y_true, scores), max_points);
}

std::vector<std::size_t> DownsampleIndices(std::size_t n, std::size_t max_points) {
  std::vector<std::size_t> out;
  if (max_points == 0 || n <= max_points) {
    out.resize(n);
    std::iota(out.begin(), out.end(), std::size_t{0});
    return out;
  }
  // n > kept >= 2, so the step (n-1)/(kept-1) exceeds 1 and rounding never repeats an index.
  std::size_t kept = std::max<std::size_t>(max_points, 2);
  for (std::size_t k = 0; k < kept; ++k) out.push_back((k * (n - 1) + (kept - 1) / 2) / (kept - 1));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Regression.

double MeanAbsoluteError(std::span<const double> y_true, std::span<const double> y_pred) {
  CheckRegression(y_true, y_pred);
  double sum = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) sum += std::abs(y_pred[i] - y_true[i]);
  return sum / static_cast<double>(y_true.size());
}

double RootMeanSquaredError(std::span<const double> y_true, std::span<const double> y_pred) {
  CheckRegression(y_true, y_pred);
  double sum = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) sum += (y_true[i] - y_pred[i]) * (y_true[i] - y_pred[i]);
  return std::sqrt(sum / static_cast<double>(y_true.size()));
}

double R2(std::span<const double> y_true, std::span<const double> y_pred) {
  CheckRegression(y_true, y_pred);
  if (y_true.size() < 2) return kNaN;
  double mean = std::accumulate(y_true.begin(), y_true.end(), 0.0) / static_cast<double>(y_true.size());
  double residual = 0;
  double total = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    residual += (y_true[i] - y_pred[i]) * (y_true[i] - y_pred[i]);
    total += (y_true[i] - mean) * (y_true[i] - mean);
  }
  if (residual == 0) return 1;
  if (total == 0) return 0;
  return 1 - residual / total;
}

double MeanAbsolutePercentageError(std::span<const double> y_true, std::span<const double> y_pred) {
  CheckRegression(y_true, y_pred);
  double sum = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    sum += std::abs(y_pred[i] - y_true[i]) / std::max(std::abs(y_true[i]), DBL_EPSILON);
  }
  return sum / static_cast<double>(y_true.size());
}

// ---------------------------------------------------------------------------------------------
// Clustering.

double Inertia(const Matrix& x, std::span<const double> labels) {
  auto clusters = ClusterIndices(x, labels);
  auto sizes = ClusterSizes(clusters);
  std::vector<double> means(sizes.size() * x.cols, 0.0);
  for (std::size_t r = 0; r < x.rows; ++r) {
    for (std::size_t c = 0; c < x.cols; ++c) means[clusters[r] * x.cols + c] += x.at(r, c);
  }
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    for (std::size_t c = 0; c < x.cols; ++c) {
      if (sizes[k] > 0) means[k * x.cols + c] /= static_cast<double>(sizes[k]);
    }
  }
  double sum = 0;
  for (std::size_t r = 0; r < x.rows; ++r) {
    for (std::size_t c = 0; c < x.cols; ++c) {
      double d = static_cast<double>(x.at(r, c)) - means[clusters[r] * x.cols + c];
      sum += d * d;
    }
  }
  return sum;
}

std::vector<std::size_t> SilhouetteSampleRows(std::size_t rows, std::size_t sample_size, std::uint64_t seed) {
  std::vector<std::size_t> order(rows);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (sample_size == 0 || rows <= sample_size) return order;
  std::mt19937_64 engine(seed);
  for (std::size_t i = 0; i < sample_size; ++i) {
    auto pick = i + static_cast<std::size_t>(UniformBelow(engine, rows - i));
    std::swap(order[i], order[pick]);
  }
  order.resize(sample_size);
  std::sort(order.begin(), order.end());
  return order;
}

double Silhouette(const Matrix& x, std::span<const double> labels, std::size_t sample_size, std::uint64_t seed) {
  auto all_clusters = ClusterIndices(x, labels);
  auto rows = SilhouetteSampleRows(x.rows, sample_size, seed);
  std::size_t n = rows.size();

  // Renumber the clusters present in the scored rows 0..k-1, as scikit-learn's LabelEncoder does.
  std::vector<std::size_t> present(n);
  for (std::size_t i = 0; i < n; ++i) present[i] = all_clusters[rows[i]];
  std::sort(present.begin(), present.end());
  present.erase(std::unique(present.begin(), present.end()), present.end());
  std::size_t k = present.size();
  if (k < 2 || k > n - 1) return kNaN;
  std::vector<std::size_t> cluster(n);
  std::vector<double> size(k, 0);
  for (std::size_t i = 0; i < n; ++i) {
    cluster[i] = static_cast<std::size_t>(std::lower_bound(present.begin(), present.end(), all_clusters[rows[i]]) -
                                          present.begin());
    size[cluster[i]] += 1;
  }

  // distance_sum[i * k + c]: summed distance from scored row i to the rows of cluster c. Each
  // pair is measured once and credited to both rows.
  std::vector<double> distance_sum(n * k, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    auto row_i = x.Row(rows[i]);
    for (std::size_t j = i + 1; j < n; ++j) {
      double d = Distance(row_i, x.Row(rows[j]));
      distance_sum[i * k + cluster[j]] += d;
      distance_sum[j * k + cluster[i]] += d;
    }
  }
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t own = cluster[i];
    if (size[own] == 1) continue;  // scores 0, as scikit-learn's nan_to_num makes it
    double a = distance_sum[i * k + own] / (size[own] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < k; ++c) {
      if (c != own) b = std::min(b, distance_sum[i * k + c] / size[c]);
    }
    double larger = std::max(a, b);
    // Identical points give 0 / 0, which scikit-learn also turns into 0.
    if (larger > 0 || std::isnan(larger)) total += (b - a) / larger;
  }
  return total / static_cast<double>(n);
}

// ---------------------------------------------------------------------------------------------
// Reports.

nlohmann::json ClassificationReport(std::span<const double> y_true, const Predictions& predicted,
                                    const std::vector<std::string>& class_names) {
  std::size_t classes = class_names.size();
  CheckClasses(classes);
  std::map<std::string, std::size_t> seen;
  for (std::size_t c = 0; c < classes; ++c) {
    if (!seen.emplace(class_names[c], c).second) {
      Invalid("class name '" + class_names[c] + "' is used by classes " + std::to_string(seen[class_names[c]]) +
              " and " + std::to_string(c) + "; class names must be unique");
    }
  }
  std::span<const double> y_pred = predicted.values;
  bool scored = !predicted.probabilities.empty();
  if (scored && predicted.classes != 0 && predicted.classes != classes) {
    Invalid("the predictions are for " + std::to_string(predicted.classes) + " classes but " + std::to_string(classes) +
            " class names were given");
  }

  auto counts = ConfusionMatrix(y_true, y_pred, classes);
  auto scores = PrecisionRecallF1(y_true, y_pred, classes);
  nlohmann::json report;
  report["classes"] = class_names;
  report["rows"] = y_true.size();
  report["accuracy"] = Number(Accuracy(y_true, y_pred));
  report["balanced_accuracy"] = Number(BalancedAccuracy(y_true, y_pred, classes));
  auto per_class = [&](const std::vector<double>& values, double macro, double weighted) {
    nlohmann::json by_name = nlohmann::json::object();
    for (std::size_t c = 0; c < classes; ++c) by_name[class_names[c]] = Number(values[c]);
    return nlohmann::json{{"per_class", by_name}, {"macro", Number(macro)}, {"weighted", Number(weighted)}};
  };
  report["precision"] = per_class(scores.precision, scores.precision_macro, scores.precision_weighted);
  report["recall"] = per_class(scores.recall, scores.recall_macro, scores.recall_weighted);
  report["f1"] = per_class(scores.f1, scores.f1_macro, scores.f1_weighted);
  report["support"] = nlohmann::json::object();
  for (std::size_t c = 0; c < classes; ++c) report["support"][class_names[c]] = scores.support[c];
  report["confusion_matrix"] = {{"labels", class_names}, {"matrix", counts}};

  report["roc_auc"] = nullptr;
  report["pr_auc"] = nullptr;
  report["log_loss"] = nullptr;
  report["roc_curve"] = nullptr;
  report["pr_curve"] = nullptr;
  if (!scored) return report;
  std::span<const double> probabilities = predicted.probabilities;
  report["roc_auc"] = Number(RocAuc(y_true, probabilities, classes));
  report["pr_auc"] = Number(AveragePrecision(y_true, probabilities, classes));
  report["log_loss"] = Number(LogLoss(y_true, probabilities, classes));

  auto labels = ClassIndices(y_true, classes, "y_true");
  auto curves = [](const std::vector<double>& values) {
    nlohmann::json out = nlohmann::json::array();
    for (double v : values) out.push_back(Number(v));
    return out;
  };
  nlohmann::json roc = nlohmann::json::array();
  nlohmann::json pr = nlohmann::json::array();
  for (std::size_t c = classes == 2 ? 1 : 0; c < classes; ++c) {
    auto ranking = RankColumn(labels, probabilities, classes, c);
    if (ranking.positives() == 0) continue;
    if (ranking.negatives() > 0) {
      auto points = RocOf(ranking, kCurvePoints);
      roc.push_back(nlohmann::json{{"class", class_names[c]},
                                   {"fpr", curves(points.fpr)},
                                   {"tpr", curves(points.tpr)},
                                   {"thresholds", curves(points.thresholds)}});
    }
    auto points = PrOf(ranking, kCurvePoints);
    pr.push_back(nlohmann::json{{"class", class_names[c]},
                                {"precision", curves(points.precision)},
                                {"recall", curves(points.recall)},
                                {"thresholds", curves(points.thresholds)}});
  }
  report["roc_curve"] = std::move(roc);
  report["pr_curve"] = std::move(pr);
  return report;
}

nlohmann::json RegressionReport(std::span<const double> y_true, std::span<const double> y_pred) {
  CheckRegression(y_true, y_pred);
  std::size_t n = y_true.size();
  std::vector<double> residuals(n);
  for (std::size_t i = 0; i < n; ++i) residuals[i] = y_true[i] - y_pred[i];
  double mean = std::accumulate(residuals.begin(), residuals.end(), 0.0) / static_cast<double>(n);
  double squares = 0;
  for (double r : residuals) squares += (r - mean) * (r - mean);
  std::vector<double> sorted = residuals;
  std::sort(sorted.begin(), sorted.end());

  nlohmann::json report;
  report["rows"] = n;
  report["mae"] = Number(MeanAbsoluteError(y_true, y_pred));
  report["rmse"] = Number(RootMeanSquaredError(y_true, y_pred));
  report["r2"] = Number(R2(y_true, y_pred));
  report["mape"] = Number(MeanAbsolutePercentageError(y_true, y_pred));
  report["residuals"] = {
      {"mean", Number(mean)},
      {"std", Number(std::sqrt(squares / static_cast<double>(n)))},
      {"min", Number(sorted.front())},
      {"p5", Number(Percentile(sorted, 5))},
      {"p25", Number(Percentile(sorted, 25))},
      {"median", Number(Percentile(sorted, 50))},
      {"p75", Number(Percentile(sorted, 75))},
      {"p95", Number(Percentile(sorted, 95))},
      {"max", Number(sorted.back())},
  };
  nlohmann::json predicted = nlohmann::json::array();
  nlohmann::json residual = nlohmann::json::array();
  for (auto i : DownsampleIndices(n, kResidualPoints)) {
    predicted.push_back(y_pred[i]);
    residual.push_back(residuals[i]);
  }
  report["residual_plot"] = {{"predicted", std::move(predicted)}, {"residual", std::move(residual)}};
  return report;
}

nlohmann::json ClusteringReport(const Matrix& x, std::span<const double> labels, std::size_t silhouette_sample,
                                std::uint64_t seed) {
  auto sizes = ClusterSizes(ClusterIndices(x, labels));
  nlohmann::json report;
  report["rows"] = x.rows;
  report["clusters"] = std::count_if(sizes.begin(), sizes.end(), [](std::size_t s) { return s > 0; });
  report["cluster_sizes"] = sizes;
  report["inertia"] = Number(Inertia(x, labels));
  report["silhouette"] = Number(Silhouette(x, labels, silhouette_sample, seed));
  report["silhouette_rows"] = SilhouetteSampleRows(x.rows, silhouette_sample, seed).size();
  return report;
}

// ---------------------------------------------------------------------------------------------
// Leaderboard.

std::vector<std::string> LeaderboardMetrics(Task task) {
  std::vector<std::string> out;
  for (const auto& metric : kLeaderboard) {
    if (metric.group == GroupOf(task)) out.emplace_back(metric.name);
  }
  return out;
}

bool HigherIsBetter(std::string_view metric) {
  for (const auto& known : kLeaderboard) {
    if (known.name == metric) return known.higher_is_better;
  }
  std::string names;
  for (const auto& known : kLeaderboard) names += (names.empty() ? "" : ", ") + std::string(known.name);
  Invalid("unknown metric '" + std::string(metric) + "'; known metrics: " + names);
}

nlohmann::json LeaderboardValues(const nlohmann::json& report, Task task) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& metric : kLeaderboard) {
    if (metric.group != GroupOf(task)) continue;
    nlohmann::json::json_pointer pointer{std::string(metric.pointer)};
    bool present = report.is_object() && report.contains(pointer) && report.at(pointer).is_number();
    out[std::string(metric.name)] = present ? report.at(pointer) : nlohmann::json(nullptr);
  }
  return out;
}

}  // namespace playground::ml
