// Tests for the evaluation metrics: every value against scikit-learn's (the fixture written by
// scripts/reference/ml_metrics.py), plus the properties scikit-learn cannot check: curve
// thinning, the seeded silhouette sample, input validation and the report shapes.
#include "ml/metrics.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "ml/test_data.h"

namespace playground::ml {
namespace {

using nlohmann::json;

const json& Fixture() {
  static const json fixture = testing::ReadJsonFixture("ml/metrics.json");
  return fixture;
}

std::vector<double> Doubles(const json& values) { return values.get<std::vector<double>>(); }

// scikit-learn and these functions sum in different orders, so results may differ in the last
// bits; 1e-9 relative (plus a tiny absolute slack for values that are 0) is far tighter than any
// real disagreement.
void ExpectClose(double actual, const json& expected, const std::string& what) {
  if (expected.is_null()) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": expected undefined, got " << actual;
    return;
  }
  double want = expected.get<double>();
  EXPECT_NEAR(actual, want, 1e-9 * std::abs(want) + 1e-12) << what;
}

void ExpectAllClose(const std::vector<double>& actual, const json& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t i = 0; i < actual.size(); ++i)
    ExpectClose(actual[i], expected[i], what + "[" + std::to_string(i) + "]");
}

// Report values are JSON; null must stay null, numbers must match.
void ExpectJsonClose(const json& actual, const json& expected, const std::string& what) {
  if (expected.is_null()) {
    EXPECT_TRUE(actual.is_null()) << what << ": expected null, got " << actual;
    return;
  }
  ASSERT_TRUE(actual.is_number()) << what << ": expected a number, got " << actual;
  ExpectClose(actual.get<double>(), expected, what);
}

std::vector<std::string> ClassNames(std::size_t classes) {
  std::vector<std::string> names;
  for (std::size_t c = 0; c < classes; ++c) names.push_back("class " + std::to_string(c));
  return names;
}

// Column c of a rows x classes matrix, and y_true as 0/1 for "is class c".
std::vector<double> Column(const std::vector<double>& probabilities, std::size_t classes, std::size_t c) {
  std::vector<double> out;
  for (std::size_t i = c; i < probabilities.size(); i += classes) out.push_back(probabilities[i]);
  return out;
}
std::vector<double> IsClass(const std::vector<double>& y, std::size_t c) {
  std::vector<double> out;
  for (double v : y) out.push_back(v == static_cast<double>(c) ? 1 : 0);
  return out;
}

TEST(MetricsFixtureTest, RecordsItsProvenance) {
  EXPECT_EQ(Fixture().at("sklearn"), "1.2.1");
  EXPECT_EQ(Fixture().at("classification").size(), 7U);
}

TEST(MetricsFixtureTest, ClassificationFunctionsMatchScikitLearn) {
  for (const auto& c : Fixture().at("classification")) {
    std::string name = c.at("name");
    SCOPED_TRACE(name);
    auto classes = c.at("classes").get<std::size_t>();
    auto y_true = Doubles(c.at("y_true"));
    auto y_pred = Doubles(c.at("y_pred"));
    const auto& want = c.at("expected");

    ExpectClose(Accuracy(y_true, y_pred), want.at("accuracy"), "accuracy");
    ExpectClose(BalancedAccuracy(y_true, y_pred, classes), want.at("balanced_accuracy"), "balanced_accuracy");
    EXPECT_EQ(json(ConfusionMatrix(y_true, y_pred, classes)), want.at("confusion_matrix"));
    auto scores = PrecisionRecallF1(y_true, y_pred, classes);
    ExpectAllClose(scores.precision, want.at("precision"), "precision");
    ExpectAllClose(scores.recall, want.at("recall"), "recall");
    ExpectAllClose(scores.f1, want.at("f1"), "f1");
    EXPECT_EQ(json(scores.support), want.at("support"));
    ExpectClose(scores.precision_macro, want.at("precision_macro"), "precision_macro");
    ExpectClose(scores.recall_macro, want.at("recall_macro"), "recall_macro");
    ExpectClose(scores.f1_macro, want.at("f1_macro"), "f1_macro");
    ExpectClose(scores.precision_weighted, want.at("precision_weighted"), "precision_weighted");
    ExpectClose(scores.recall_weighted, want.at("recall_weighted"), "recall_weighted");
    ExpectClose(scores.f1_weighted, want.at("f1_weighted"), "f1_weighted");

    if (c.at("probabilities").is_null()) continue;
    auto probabilities = Doubles(c.at("probabilities"));
    ExpectClose(RocAuc(y_true, probabilities, classes), want.at("roc_auc"), "roc_auc");
    ExpectClose(AveragePrecision(y_true, probabilities, classes), want.at("pr_auc"), "pr_auc");
    ExpectClose(LogLoss(y_true, probabilities, classes), want.at("log_loss"), "log_loss");
    ExpectClose(LogLoss(y_true, probabilities, classes, DBL_EPSILON), want.at("log_loss_auto_eps"),
                "log_loss eps=auto");
    if (c.contains("scaled_probabilities")) {
      ExpectClose(LogLoss(y_true, Doubles(c.at("scaled_probabilities")), classes), want.at("log_loss_scaled"),
                  "log_loss of unnormalised rows");
    }
    if (classes == 2) {
      auto positive = Column(probabilities, 2, 1);
      ExpectClose(RocAuc(y_true, positive), want.at("roc_auc"), "binary roc_auc");
      ExpectClose(AveragePrecision(y_true, positive), want.at("pr_auc"), "binary pr_auc");
    }
    for (const auto& curve : want.at("roc_curves")) {
      auto k = curve.at("class").get<std::size_t>();
      auto points = RocCurve(IsClass(y_true, k), Column(probabilities, classes, k), 0);
      ExpectAllClose(points.fpr, curve.at("fpr"), "fpr of class " + std::to_string(k));
      ExpectAllClose(points.tpr, curve.at("tpr"), "tpr of class " + std::to_string(k));
      ExpectAllClose(points.thresholds, curve.at("thresholds"), "roc thresholds of class " + std::to_string(k));
    }
    for (const auto& curve : want.at("pr_curves")) {
      auto k = curve.at("class").get<std::size_t>();
      auto points = PrCurve(IsClass(y_true, k), Column(probabilities, classes, k), 0);
      ExpectAllClose(points.precision, curve.at("precision"), "precision of class " + std::to_string(k));
      ExpectAllClose(points.recall, curve.at("recall"), "recall of class " + std::to_string(k));
      ExpectAllClose(points.thresholds, curve.at("thresholds"), "pr thresholds of class " + std::to_string(k));
    }
  }
}

TEST(MetricsFixtureTest, ClassificationReportMatchesScikitLearn) {
  int thinned_curves = 0;
  for (const auto& c : Fixture().at("classification")) {
    std::string name = c.at("name");
    SCOPED_TRACE(name);
    auto classes = c.at("classes").get<std::size_t>();
    auto names = ClassNames(classes);
    auto y_true = Doubles(c.at("y_true"));
    Predictions predicted;
    predicted.values = Doubles(c.at("y_pred"));
    bool scored = !c.at("probabilities").is_null();
    if (scored) {
      predicted.probabilities = Doubles(c.at("probabilities"));
      predicted.classes = classes;
    }
    const auto& want = c.at("expected");
    auto report = ClassificationReport(y_true, predicted, names);

    EXPECT_EQ(report.at("classes"), json(names));
    EXPECT_EQ(report.at("rows"), y_true.size());
    ExpectJsonClose(report.at("accuracy"), want.at("accuracy"), "accuracy");
    ExpectJsonClose(report.at("balanced_accuracy"), want.at("balanced_accuracy"), "balanced_accuracy");
    for (const std::string metric : {"precision", "recall", "f1"}) {
      ExpectJsonClose(report.at(metric).at("macro"), want.at(metric + "_macro"), metric + " macro");
      ExpectJsonClose(report.at(metric).at("weighted"), want.at(metric + "_weighted"), metric + " weighted");
      ASSERT_EQ(report.at(metric).at("per_class").size(), classes);
      for (std::size_t k = 0; k < classes; ++k) {
        ExpectJsonClose(report.at(metric).at("per_class").at(names[k]), want.at(metric)[k], metric + " " + names[k]);
        EXPECT_EQ(report.at("support").at(names[k]), want.at("support")[k]);
      }
    }
    EXPECT_EQ(report.at("confusion_matrix").at("labels"), json(names));
    EXPECT_EQ(report.at("confusion_matrix").at("matrix"), want.at("confusion_matrix"));

    if (!scored) {
      for (const char* key : {"roc_auc", "pr_auc", "log_loss", "roc_curve", "pr_curve"}) {
        EXPECT_TRUE(report.at(key).is_null()) << key;
      }
      continue;
    }
    ExpectJsonClose(report.at("roc_auc"), want.at("roc_auc"), "roc_auc");
    ExpectJsonClose(report.at("pr_auc"), want.at("pr_auc"), "pr_auc");
    ExpectJsonClose(report.at("log_loss"), want.at("log_loss"), "log_loss");
    // The report keeps the points of scikit-learn's curve that DownsampleIndices picks.
    // `points` is the curve's length; a PR curve's thresholds are one shorter.
    auto expect_thinned = [&](const json& got, const json& full, std::size_t points, const std::string& what) {
      auto keep = DownsampleIndices(points, kCurvePoints);
      if (keep.size() < points) ++thinned_curves;
      json thinned = json::array();
      for (auto i : keep) {
        if (i < full.size()) thinned.push_back(full[i]);
      }
      ExpectAllClose(got.get<std::vector<double>>(), thinned, what);
    };
    ASSERT_EQ(report.at("roc_curve").size(), want.at("roc_curves").size());
    for (std::size_t i = 0; i < want.at("roc_curves").size(); ++i) {
      const auto& got = report.at("roc_curve")[i];
      const auto& curve = want.at("roc_curves")[i];
      EXPECT_EQ(got.at("class"), names[curve.at("class").get<std::size_t>()]);
      std::size_t points = curve.at("fpr").size();
      expect_thinned(got.at("fpr"), curve.at("fpr"), points, "report fpr");
      expect_thinned(got.at("tpr"), curve.at("tpr"), points, "report tpr");
      expect_thinned(got.at("thresholds"), curve.at("thresholds"), points, "report roc thresholds");
    }
    ASSERT_EQ(report.at("pr_curve").size(), want.at("pr_curves").size());
    for (std::size_t i = 0; i < want.at("pr_curves").size(); ++i) {
      const auto& got = report.at("pr_curve")[i];
      const auto& curve = want.at("pr_curves")[i];
      EXPECT_EQ(got.at("class"), names[curve.at("class").get<std::size_t>()]);
      std::size_t points = curve.at("precision").size();
      expect_thinned(got.at("precision"), curve.at("precision"), points, "report precision");
      expect_thinned(got.at("recall"), curve.at("recall"), points, "report recall");
      // The closing point has no threshold; the kept thresholds are those of the other kept points.
      expect_thinned(got.at("thresholds"), curve.at("thresholds"), points, "report pr thresholds");
    }
  }
  // multiclass_4's PR curves exceed kCurvePoints, so the thinning is checked on real curves too.
  EXPECT_GT(thinned_curves, 0);
}

TEST(MetricsFixtureTest, RegressionMatchesScikitLearn) {
  for (const auto& c : Fixture().at("regression")) {
    std::string name = c.at("name");
    SCOPED_TRACE(name);
    auto y_true = Doubles(c.at("y_true"));
    auto y_pred = Doubles(c.at("y_pred"));
    const auto& want = c.at("expected");
    ExpectClose(MeanAbsoluteError(y_true, y_pred), want.at("mae"), "mae");
    ExpectClose(RootMeanSquaredError(y_true, y_pred), want.at("rmse"), "rmse");
    ExpectClose(R2(y_true, y_pred), want.at("r2"), "r2");
    ExpectClose(MeanAbsolutePercentageError(y_true, y_pred), want.at("mape"), "mape");

    auto report = RegressionReport(y_true, y_pred);
    EXPECT_EQ(report.at("rows"), y_true.size());
    for (const char* key : {"mae", "rmse", "r2", "mape"}) ExpectJsonClose(report.at(key), want.at(key), key);
    ASSERT_EQ(report.at("residuals").size(), want.at("residuals").size());
    for (const auto& [key, value] : want.at("residuals").items()) {
      ExpectJsonClose(report.at("residuals").at(key), value, "residuals." + key);
    }
    const auto& plot = report.at("residual_plot");
    ASSERT_EQ(plot.at("predicted").size(), y_true.size());
    for (std::size_t i = 0; i < y_true.size(); ++i) {
      EXPECT_EQ(plot.at("predicted")[i], y_pred[i]);
      EXPECT_EQ(plot.at("residual")[i], y_true[i] - y_pred[i]);
    }
  }
}

Matrix ClusterFixtureMatrix(const json& c) {
  auto values = Doubles(c.at("x"));
  auto cols = c.at("cols").get<std::size_t>();
  Matrix x(values.size() / cols, cols);
  // The fixture's values are float32 numbers written as doubles, so this is exact.
  for (std::size_t i = 0; i < values.size(); ++i) x.values[i] = static_cast<float>(values[i]);
  return x;
}

TEST(MetricsFixtureTest, ClusteringMatchesScikitLearn) {
  for (const auto& c : Fixture().at("clustering")) {
    std::string name = c.at("name");
    SCOPED_TRACE(name);
    auto x = ClusterFixtureMatrix(c);
    auto labels = Doubles(c.at("labels"));
    const auto& want = c.at("expected");
    ExpectClose(Inertia(x, labels), want.at("inertia"), "inertia");
    ExpectClose(Silhouette(x, labels, 0, 1), want.at("silhouette"), "silhouette");
    ExpectClose(Silhouette(x, labels, x.rows, 1), want.at("silhouette"), "silhouette, sample as large as the data");

    auto report = ClusteringReport(x, labels, 1000, 1);
    EXPECT_EQ(report.at("rows"), x.rows);
    EXPECT_EQ(report.at("cluster_sizes"), want.at("sizes"));
    EXPECT_EQ(report.at("clusters"), 4);  // index 2 is unused
    EXPECT_EQ(report.at("silhouette_rows"), x.rows);
    ExpectJsonClose(report.at("inertia"), want.at("inertia"), "report inertia");
    ExpectJsonClose(report.at("silhouette"), want.at("silhouette"), "report silhouette");
  }
}

// A noisy binary problem with many distinct scores, so the curves need thinning.
struct BinarySample {
  std::vector<double> y;
  std::vector<double> scores;
};
BinarySample NoisyBinary(std::size_t rows) {
  std::mt19937_64 engine(42);
  std::normal_distribution<double> noise(0, 1);
  BinarySample out;
  for (std::size_t i = 0; i < rows; ++i) {
    double y = static_cast<double>(i % 3 == 0);
    out.y.push_back(y);
    out.scores.push_back(y + noise(engine));
  }
  return out;
}

TEST(MetricsCurveTest, DownsampleIndicesKeepEndpointsAndOrder) {
  EXPECT_EQ(DownsampleIndices(5, 200), (std::vector<std::size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(DownsampleIndices(5, 0), (std::vector<std::size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(DownsampleIndices(11, 3), (std::vector<std::size_t>{0, 5, 10}));
  EXPECT_EQ(DownsampleIndices(10, 1), (std::vector<std::size_t>{0, 9}));
  for (std::size_t n : {201U, 202U, 399U, 1000U, 12345U}) {
    auto kept = DownsampleIndices(n, 200);
    ASSERT_EQ(kept.size(), 200U) << n;
    EXPECT_EQ(kept.front(), 0U);
    EXPECT_EQ(kept.back(), n - 1);
    for (std::size_t i = 1; i < kept.size(); ++i) EXPECT_LT(kept[i - 1], kept[i]) << n;
  }
}

TEST(MetricsCurveTest, ThinnedRocCurveKeepsEndpointsAndStaysOnTheFullCurve) {
  auto sample = NoisyBinary(3000);
  auto full = RocCurve(sample.y, sample.scores, 0);
  auto thin = RocCurve(sample.y, sample.scores);
  ASSERT_GT(full.fpr.size(), kCurvePoints);
  ASSERT_EQ(thin.fpr.size(), kCurvePoints);
  ASSERT_EQ(thin.tpr.size(), kCurvePoints);
  ASSERT_EQ(thin.thresholds.size(), kCurvePoints);
  EXPECT_EQ(thin.fpr.front(), 0);
  EXPECT_EQ(thin.tpr.front(), 0);
  EXPECT_EQ(thin.fpr.back(), 1);
  EXPECT_EQ(thin.tpr.back(), 1);
  EXPECT_EQ(thin.thresholds.front(), full.thresholds.front());
  EXPECT_EQ(thin.thresholds.back(), full.thresholds.back());
  std::size_t at = 0;
  for (std::size_t i = 0; i < thin.fpr.size(); ++i) {
    if (i > 0) {
      EXPECT_LE(thin.fpr[i - 1], thin.fpr[i]);
      EXPECT_LE(thin.tpr[i - 1], thin.tpr[i]);
      EXPECT_GT(thin.thresholds[i - 1], thin.thresholds[i]);
    }
    // Each kept point is a point of the full curve, found in order.
    while (at < full.thresholds.size() && full.thresholds[at] != thin.thresholds[i]) ++at;
    ASSERT_LT(at, full.thresholds.size()) << "point " << i << " is not on the full curve";
    EXPECT_EQ(full.fpr[at], thin.fpr[i]);
    EXPECT_EQ(full.tpr[at], thin.tpr[i]);
  }
}

TEST(MetricsCurveTest, ThinnedPrCurveKeepsEndpointsAndOrder) {
  auto sample = NoisyBinary(3000);
  auto full = PrCurve(sample.y, sample.scores, 0);
  auto thin = PrCurve(sample.y, sample.scores);
  ASSERT_EQ(full.thresholds.size(), full.precision.size() - 1);
  ASSERT_EQ(thin.precision.size(), kCurvePoints);
  ASSERT_EQ(thin.recall.size(), kCurvePoints);
  ASSERT_EQ(thin.thresholds.size(), kCurvePoints - 1);
  EXPECT_EQ(thin.recall.front(), 1);
  EXPECT_EQ(thin.precision.front(), full.precision.front());
  EXPECT_EQ(thin.thresholds.front(), full.thresholds.front());
  EXPECT_EQ(thin.recall.back(), 0);
  EXPECT_EQ(thin.precision.back(), 1);
  for (std::size_t i = 1; i < thin.recall.size(); ++i) EXPECT_GE(thin.recall[i - 1], thin.recall[i]);
  for (std::size_t i = 1; i < thin.thresholds.size(); ++i) EXPECT_LT(thin.thresholds[i - 1], thin.thresholds[i]);
}

TEST(MetricsCurveTest, TiesCountHalfAndUndefinedCasesAreNaN) {
  // One positive and one negative with the same score: the pair is half right.
  EXPECT_DOUBLE_EQ(RocAuc(std::vector<double>{0, 1}, std::vector<double>{0.5, 0.5}), 0.5);
  // Positive above one negative and tied with another: (1 + 0.5) / 2.
  EXPECT_DOUBLE_EQ(RocAuc(std::vector<double>{0, 0, 1}, std::vector<double>{0.2, 0.7, 0.7}), 0.75);
  EXPECT_DOUBLE_EQ(RocAuc(std::vector<double>{0, 1, 1, 0}, std::vector<double>{0.1, 0.4, 0.35, 0.8}), 0.5);
  // Step-wise AP, not the trapezoid: thresholds 0.8 (P 0, R 0), 0.4 (P 1/2, R 1/2), 0.35 (P 2/3, R 1).
  EXPECT_DOUBLE_EQ(AveragePrecision(std::vector<double>{0, 1, 1, 0}, std::vector<double>{0.1, 0.4, 0.35, 0.8}),
                   0.5 * 0.5 + 0.5 * 2.0 / 3.0);
  EXPECT_TRUE(std::isnan(RocAuc(std::vector<double>{1, 1}, std::vector<double>{0.2, 0.7})));
  EXPECT_TRUE(std::isnan(AveragePrecision(std::vector<double>{0, 0}, std::vector<double>{0.2, 0.7})));
  // Multiclass with class 2 missing from y_true.
  std::vector<double> probabilities = {0.5, 0.3, 0.2, 0.1, 0.6, 0.3};
  EXPECT_TRUE(std::isnan(RocAuc(std::vector<double>{0, 1}, probabilities, 3)));
  EXPECT_TRUE(std::isnan(AveragePrecision(std::vector<double>{0, 1}, probabilities, 3)));
  EXPECT_TRUE(std::isnan(R2(std::vector<double>{1}, std::vector<double>{2})));
}

TEST(MetricsCurveTest, LargeInputsScoreQuickly) {
  // 200k rows x 3 classes: the O(n log n) path; a quadratic one would not finish in the test's time.
  std::size_t rows = 200000;
  std::mt19937_64 engine(3);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<double> y(rows);
  std::vector<double> probabilities(rows * 3);
  for (std::size_t i = 0; i < rows; ++i) {
    y[i] = static_cast<double>(i % 3);
    double sum = 0;
    for (std::size_t c = 0; c < 3; ++c) {
      probabilities[i * 3 + c] = uniform(engine) + (c == i % 3 ? 0.3 : 0);
      sum += probabilities[i * 3 + c];
    }
    for (std::size_t c = 0; c < 3; ++c) probabilities[i * 3 + c] /= sum;
  }
  double auc = RocAuc(y, probabilities, 3);
  EXPECT_GT(auc, 0.6);
  EXPECT_LT(auc, 0.9);
}

TEST(MetricsSilhouetteTest, SampleIsASeededSubsetScoredOnItsOwn) {
  std::size_t rows = 240;
  Matrix x(rows, 2);
  std::vector<double> labels(rows);
  std::mt19937_64 engine(9);
  std::normal_distribution<float> noise(0, 1);
  for (std::size_t r = 0; r < rows; ++r) {
    labels[r] = static_cast<double>(r % 3);
    x.at(r, 0) = static_cast<float>(3 * (r % 3)) + noise(engine);
    x.at(r, 1) = noise(engine);
  }
  auto picked = SilhouetteSampleRows(rows, 60, 7);
  ASSERT_EQ(picked.size(), 60U);
  for (std::size_t i = 1; i < picked.size(); ++i) EXPECT_LT(picked[i - 1], picked[i]);
  EXPECT_LT(picked.back(), rows);
  EXPECT_EQ(SilhouetteSampleRows(rows, 60, 7), picked);
  EXPECT_NE(SilhouetteSampleRows(rows, 60, 8), picked);
  EXPECT_EQ(SilhouetteSampleRows(rows, 0, 7).size(), rows);
  EXPECT_EQ(SilhouetteSampleRows(rows, rows + 1, 7).size(), rows);

  Matrix subset(picked.size(), 2);
  std::vector<double> subset_labels;
  for (std::size_t i = 0; i < picked.size(); ++i) {
    subset.at(i, 0) = x.at(picked[i], 0);
    subset.at(i, 1) = x.at(picked[i], 1);
    subset_labels.push_back(labels[picked[i]]);
  }
  double sampled = Silhouette(x, labels, 60, 7);
  EXPECT_DOUBLE_EQ(sampled, Silhouette(subset, subset_labels, 0, 0));
  double exact = Silhouette(x, labels, 0, 0);
  EXPECT_NEAR(sampled, exact, 0.1);
  auto report = ClusteringReport(x, labels, 60, 7);
  EXPECT_EQ(report.at("silhouette_rows"), 60);
  EXPECT_DOUBLE_EQ(report.at("silhouette").get<double>(), sampled);
}

TEST(MetricsSilhouetteTest, UndefinedWithOneClusterOrAClusterPerRow) {
  Matrix x(3, 1);
  x.values = {0.0F, 1.0F, 5.0F};
  EXPECT_TRUE(std::isnan(Silhouette(x, std::vector<double>{2, 2, 2}, 0, 0)));
  EXPECT_TRUE(std::isnan(Silhouette(x, std::vector<double>{0, 1, 2}, 0, 0)));
  // Rows 0 and 1 together, row 2 alone (scores 0): row 0 has a = 1, b = 5; row 1 has a = 1, b = 4.
  EXPECT_DOUBLE_EQ(Silhouette(x, std::vector<double>{0, 0, 1}, 0, 0), (4.0 / 5 + 3.0 / 4) / 3);
  auto report = ClusteringReport(x, std::vector<double>{2, 2, 2}, 0, 0);
  EXPECT_TRUE(report.at("silhouette").is_null());
  EXPECT_EQ(report.at("cluster_sizes"), json({0, 0, 3}));
  EXPECT_EQ(report.at("clusters"), 1);
  // Mean 2: squared distances 4 + 1 + 9.
  EXPECT_DOUBLE_EQ(report.at("inertia").get<double>(), 14.0);
}

std::string ValidationMessage(const std::function<void()>& call) {
  try {
    call();
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kValidation);
    return e.what();
  }
  return "accepted";
}

TEST(MetricsValidationTest, RefusesInputsThatDoNotFit) {
  std::vector<double> two = {0, 1};
  std::vector<double> three = {0, 1, 1};
  EXPECT_EQ(ValidationMessage([&] { Accuracy(two, three); }),
            "y_true has 2 values but y_pred has 3; both need one per row");
  EXPECT_EQ(ValidationMessage([&] { Accuracy({}, {}); }), "there are no rows to score: y_true is empty");
  EXPECT_EQ(ValidationMessage([&] {
              ConfusionMatrix(two, std::vector<double>{0, 2}, 2);
            }),
            "y_pred[1] = 2 is not a class index: expected an integer from 0 to 1");
  EXPECT_EQ(ValidationMessage([&] {
              ConfusionMatrix(std::vector<double>{0.5, 1}, two, 2);
            }),
            "y_true[0] = 0.5 is not a class index: expected an integer from 0 to 1");
  EXPECT_EQ(ValidationMessage([&] {
              LogLoss(two, std::vector<double>{0.5, 0.5, 1}, 2);
            }),
            "probabilities has 3 values; expected rows x classes = 2 x 2");
  EXPECT_EQ(ValidationMessage([&] {
              RocAuc(two, std::vector<double>{0.5, NAN});
            }),
            "scores[1] = nan is not a finite number");
  EXPECT_EQ(ValidationMessage([&] {
              R2(two, std::vector<double>{1, INFINITY});
            }),
            "y_pred[1] = inf is not a finite number");
  EXPECT_EQ(ValidationMessage([&] {
              Inertia(Matrix(2, 1), std::vector<double>{0, -1});
            }),
            "labels[1] = -1 is not a cluster index: expected an integer from 0 to 1048575");
  EXPECT_EQ(ValidationMessage([&] { BalancedAccuracy(two, two, 1); }),
            "classification needs at least 2 classes (got 1)");
  Predictions predicted;
  predicted.values = two;
  EXPECT_EQ(ValidationMessage([&] {
              ClassificationReport(two, predicted, {"a", "a"});
            }),
            "class name 'a' is used by classes 0 and 1; class names must be unique");
  predicted.probabilities = {0.2, 0.3, 0.5, 0.1, 0.1, 0.8};
  predicted.classes = 3;
  EXPECT_EQ(ValidationMessage([&] {
              ClassificationReport(two, predicted, {"a", "b"});
            }),
            "the predictions are for 3 classes but 2 class names were given");
}

TEST(MetricsReportTest, BinaryReportShape) {
  auto sample = NoisyBinary(1000);
  Predictions predicted;
  predicted.classes = 2;
  for (double s : sample.scores) {
    double p = 1 / (1 + std::exp(-2 * (s - 0.5)));
    predicted.values.push_back(p >= 0.5 ? 1 : 0);
    predicted.probabilities.push_back(1 - p);
    predicted.probabilities.push_back(p);
  }
  auto report = ClassificationReport(sample.y, predicted, {"no", "yes"});
  for (const char* key : {"classes", "rows", "accuracy", "balanced_accuracy", "precision", "recall", "f1", "support",
                          "confusion_matrix", "roc_auc", "pr_auc", "log_loss", "roc_curve", "pr_curve"}) {
    EXPECT_TRUE(report.contains(key)) << key;
  }
  EXPECT_EQ(report.size(), 14U);
  EXPECT_TRUE(report.at("roc_auc").is_number());
  EXPECT_TRUE(report.at("log_loss").is_number());
  ASSERT_EQ(report.at("roc_curve").size(), 1U);
  const auto& roc = report.at("roc_curve")[0];
  EXPECT_EQ(roc.at("class"), "yes");
  EXPECT_EQ(roc.at("fpr").size(), kCurvePoints);
  EXPECT_EQ(roc.at("fpr").front(), 0.0);
  EXPECT_EQ(roc.at("tpr").back(), 1.0);
  ASSERT_EQ(report.at("pr_curve").size(), 1U);
  EXPECT_EQ(report.at("pr_curve")[0].at("recall").size(), kCurvePoints);
  EXPECT_EQ(report.at("pr_curve")[0].at("thresholds").size(), kCurvePoints - 1);
  // The report's AUCs are the functions' values.
  auto positive = Column(predicted.probabilities, 2, 1);
  EXPECT_EQ(report.at("roc_auc").get<double>(), RocAuc(sample.y, positive));
  EXPECT_EQ(report.at("pr_auc").get<double>(), AveragePrecision(sample.y, positive));
  EXPECT_EQ(report.dump().find("NaN"), std::string::npos);
}

TEST(MetricsReportTest, MulticlassCurvesSkipAClassWithoutRows) {
  // Class "c" never occurs in y_true: no curves for it, and the OvR AUCs are undefined.
  std::vector<double> y = {0, 1, 0, 1, 1};
  Predictions predicted;
  predicted.values = {0, 1, 1, 1, 2};
  predicted.probabilities = {0.7, 0.2, 0.1, 0.3, 0.6, 0.1, 0.4, 0.5, 0.1, 0.1, 0.8, 0.1, 0.2, 0.3, 0.5};
  predicted.classes = 3;
  auto report = ClassificationReport(y, predicted, {"a", "b", "c"});
  EXPECT_TRUE(report.at("roc_auc").is_null());
  EXPECT_TRUE(report.at("pr_auc").is_null());
  EXPECT_TRUE(report.at("log_loss").is_number());
  ASSERT_EQ(report.at("roc_curve").size(), 2U);
  EXPECT_EQ(report.at("roc_curve")[0].at("class"), "a");
  EXPECT_EQ(report.at("roc_curve")[1].at("class"), "b");
  EXPECT_EQ(report.at("pr_curve").size(), 2U);
  EXPECT_EQ(report.at("support"), json({{"a", 2}, {"b", 3}, {"c", 0}}));
  // "c" is not in y_true but is predicted once, so it takes part in the macro precision (with 0);
  // balanced accuracy averages the recalls of "a" (1/2) and "b" (2/3) only.
  EXPECT_DOUBLE_EQ(report.at("precision").at("macro").get<double>(), (1.0 + 2.0 / 3 + 0.0) / 3);
  EXPECT_DOUBLE_EQ(report.at("balanced_accuracy").get<double>(), (0.5 + 2.0 / 3) / 2);
}

TEST(MetricsReportTest, RegressionResidualPlotIsThinnedEvenly) {
  std::vector<double> y_true;
  std::vector<double> y_pred;
  for (int i = 0; i < 1234; ++i) {
    y_true.push_back(i);
    y_pred.push_back(i + (i % 7) - 3);
  }
  auto report = RegressionReport(y_true, y_pred);
  const auto& plot = report.at("residual_plot");
  ASSERT_EQ(plot.at("predicted").size(), kResidualPoints);
  ASSERT_EQ(plot.at("residual").size(), kResidualPoints);
  EXPECT_EQ(plot.at("predicted").front(), y_pred.front());
  EXPECT_EQ(plot.at("predicted").back(), y_pred.back());
  EXPECT_EQ(plot.at("residual").back(), y_true.back() - y_pred.back());
  EXPECT_EQ(report.at("residuals").at("min"), -3.0);
  EXPECT_EQ(report.at("residuals").at("max"), 3.0);
  EXPECT_EQ(report.at("residuals").at("median"), 0.0);
}

TEST(MetricsLeaderboardTest, MetricsPerTaskAndDirection) {
  EXPECT_EQ(LeaderboardMetrics(Task::kBinary),
            (std::vector<std::string>{"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "pr_auc", "log_loss"}));
  EXPECT_EQ(LeaderboardMetrics(Task::kMulticlass), LeaderboardMetrics(Task::kBinary));
  EXPECT_EQ(LeaderboardMetrics(Task::kRegression), (std::vector<std::string>{"rmse", "mae", "r2", "mape"}));
  EXPECT_EQ(LeaderboardMetrics(Task::kClustering), (std::vector<std::string>{"silhouette", "inertia"}));
  for (const char* higher : {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "pr_auc", "r2", "silhouette"}) {
    EXPECT_TRUE(HigherIsBetter(higher)) << higher;
  }
  for (const char* lower : {"log_loss", "rmse", "mae", "mape", "inertia"}) EXPECT_FALSE(HigherIsBetter(lower)) << lower;
  EXPECT_NE(ValidationMessage([] { HigherIsBetter("speed"); }).find("unknown metric 'speed'; known metrics: accuracy"),
            std::string::npos);
}

TEST(MetricsLeaderboardTest, ValuesComeFromTheReport) {
  std::vector<double> y = {0, 1, 1, 0};
  Predictions predicted;
  predicted.values = {0, 1, 0, 0};
  auto report = ClassificationReport(y, predicted, {"n", "p"});
  auto values = LeaderboardValues(report, Task::kBinary);
  EXPECT_EQ(values.size(), 6U);
  EXPECT_EQ(values.at("accuracy"), 0.75);
  EXPECT_EQ(values.at("f1_macro"), report.at("f1").at("macro"));
  EXPECT_TRUE(values.at("roc_auc").is_null());
  EXPECT_TRUE(values.at("log_loss").is_null());

  auto regression = LeaderboardValues(RegressionReport(std::vector<double>{1, 2, 3}, std::vector<double>{1, 2, 4}),
                                      Task::kRegression);
  EXPECT_DOUBLE_EQ(regression.at("mae").get<double>(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(regression.at("r2").get<double>(), 0.5);
  EXPECT_TRUE(LeaderboardValues(json::object(), Task::kClustering).at("silhouette").is_null());
}

}  // namespace
}  // namespace playground::ml
