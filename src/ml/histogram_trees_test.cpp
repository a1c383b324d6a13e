// Tests of the histogram tree engine: binning, the optimality of every split against a brute-force
// search over the raw values (which also checks histograms derived by subtraction), agreement of
// the training partition with prediction on raw values, and row sampling.
#include "ml/histogram_trees.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <vector>

namespace playground::ml::detail {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(BinnedMatrixTest, FewDistinctValuesGetABinEachAndMissingGetsBinZero) {
  Matrix x(6, 1);
  float values[] = {3, 1, kNaN, 2, 3, 1};
  for (std::size_t r = 0; r < 6; ++r) x.at(r, 0) = values[r];
  BinnedMatrix bins(x, 255, 1, 1);
  ASSERT_EQ(bins.Bins(0), 3);
  EXPECT_EQ(bins.Cut(0, 1), 1.5F);
  EXPECT_EQ(bins.Cut(0, 2), 2.5F);
  EXPECT_TRUE(std::isinf(bins.Cut(0, 3)));
  std::vector<int> expected = {3, 1, 0, 2, 3, 1};
  for (std::size_t r = 0; r < 6; ++r) EXPECT_EQ(bins.Row(r)[0], expected[r]) << r;
}

TEST(BinnedMatrixTest, BinsAgreeWithTheCutsOnManyValues) {
  // "bin <= b" must be exactly "v <= Cut(b)" for every value and bin, the rule prediction uses.
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal;
  Matrix x(70000, 3);
  for (std::size_t r = 0; r < x.rows; ++r) {
    x.at(r, 0) = normal(rng);
    x.at(r, 1) = std::round(normal(rng) * 3);  // few distinct values, many ties
    x.at(r, 2) = r % 11 == 0 ? kNaN : (r % 5 == 0 ? std::numeric_limits<float>::infinity() : normal(rng));
  }
  BinnedMatrix bins(x, 64, 9, 2);
  for (std::size_t c = 0; c < 3; ++c) {
    ASSERT_LE(bins.Bins(c), 64);
    for (std::size_t r = 0; r < x.rows; r += 7) {
      float v = x.at(r, c);
      int bin = bins.Row(r)[c];
      if (std::isnan(v)) {
        EXPECT_EQ(bin, 0);
        continue;
      }
      ASSERT_GE(bin, 1);
      EXPECT_LE(v, bins.Cut(c, bin)) << "row " << r << " feature " << c;
      if (bin > 1) {
        EXPECT_GT(v, bins.Cut(c, bin - 1)) << "row " << r << " feature " << c;
      }
    }
  }
  EXPECT_GT(bins.Bins(0), 60);  // evenly spaced ranks of a continuous feature fill the bins
  // ... about evenly, negative values as well as positive ones.
  std::vector<std::size_t> filled(65, 0);
  for (std::size_t r = 0; r < x.rows; ++r) ++filled[bins.Row(r)[0]];
  EXPECT_LT(*std::max_element(filled.begin(), filled.end()), 2 * x.rows / 64);
}

// The loss reduction of putting `left` rows on one side, as the engine scores it (lambda only).
double SplitGain(const std::vector<double>& g, const std::vector<double>& h, const std::vector<bool>& left,
                 double lambda) {
  double gl = 0, hl = 0, gr = 0, hr = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    (left[i] ? gl : gr) += g[i];
    (left[i] ? hl : hr) += h[i];
  }
  if (hl < 1 || hr < 1) return -1;
  auto score = [&](double a, double b) { return a * a / (b + lambda); };
  return 0.5 * (score(gl, hl) + score(gr, hr) - score(gl + gr, hl + hr));
}

// Grows a tree on n rows of 4 features of at most 40 distinct values (so every value has its own
// bin and a brute-force search sees the same candidates), one with missing values, and checks it.
// The tree may split on `features` only (0 and 3 among them).
void CheckGrownTree(std::size_t n, int depth, const std::vector<std::uint32_t>& features = {0, 1, 2, 3}) {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> level(0, 39);
  std::normal_distribution<double> noise;
  Matrix x(n, 4);
  std::vector<GradientPair> gradients(n);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < 4; ++c) x.at(r, c) = static_cast<float>(level(rng));
    if (r % 9 == 0) x.at(r, 3) = kNaN;
    double target = (x.at(r, 0) > 20 ? 2.0 : 0.0) + 0.05 * x.at(r, 1) + (std::isnan(x.at(r, 3)) ? 1.5 : 0.0);
    gradients[r] = {static_cast<float>(-(target + noise(rng))), 1.0F};
  }
  BinnedMatrix bins(x, 255, 1, 1);
  std::vector<std::uint32_t> rows(n);
  for (std::size_t r = 0; r < n; ++r) rows[r] = static_cast<std::uint32_t>(r);
  GrowOptions options;
  options.max_depth = depth;
  options.lambda = 1;
  options.learning_rate = 0.5;
  options.threads = 2;
  std::vector<double> gain(4, 0.0);
  GrowWorkspace workspace;
  std::mt19937_64 tree_rng(1);
  auto order = rows;
  std::vector<float> row_values(n, kNaN);
  auto grown = GrowTree(bins, gradients, order, features, options, tree_rng, gain, workspace, row_values);
  const auto& nodes = grown.tree.nodes;
  ASSERT_GT(nodes.size(), 15U);
  EXPECT_GT(gain[0], gain[2]);
  EXPECT_GT(gain[3], 0);  // the missing values carry signal

  // Rows reaching each node, by walking the raw values.
  std::vector<std::vector<std::size_t>> reach(nodes.size());
  for (std::size_t r = 0; r < n; ++r) {
    std::size_t i = 0;
    reach[0].push_back(r);
    while (!nodes[i].leaf()) {
      float v = x.at(r, nodes[i].feature());
      bool left = std::isnan(v) ? (nodes[i].flags & TreeNode::kMissingLeft) != 0 : v <= nodes[i].value;
      i = nodes[i].left + (left ? 0 : 1);
      reach[i].push_back(r);
    }
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& mine = reach[i];
    std::vector<double> g, h;
    for (auto r : mine) {
      g.push_back(gradients[r].g);
      h.push_back(gradients[r].h);
    }
    if (nodes[i].leaf()) continue;
    // Brute force: every feature, every threshold between observed values, missing either way.
    double best = 0;
    for (std::size_t c : features) {
      for (int t = 0; t < 40; ++t) {
        for (bool missing_left : {false, true}) {
          std::vector<bool> left;
          for (auto r : mine) {
            float v = x.at(r, c);
            left.push_back(std::isnan(v) ? missing_left : v <= static_cast<float>(t));
          }
          best = std::max(best, SplitGain(g, h, left, options.lambda));
        }
      }
    }
    std::vector<bool> chosen;
    for (auto r : mine) {
      float v = x.at(r, nodes[i].feature());
      chosen.push_back(std::isnan(v) ? (nodes[i].flags & TreeNode::kMissingLeft) != 0 : v <= nodes[i].value);
    }
    EXPECT_NEAR(SplitGain(g, h, chosen, options.lambda), best, 1e-6 * best) << "node " << i;
  }

  // Each row's value is the one prediction gives it, from raw values or from bins; each leaf's
  // is its rows' -G / (H + lambda) up to the fixed-point rounding of gradients: each is within
  // half a step of g_max * n / (2^31 - 1), and h = 1 is exact, so a leaf of m rows is off by at
  // most m half-steps / (m + lambda), times the learning rate.
  for (std::size_t r = 0; r < n; ++r) {
    float predicted = grown.tree.Predict(x.values.data() + r * x.cols);
    EXPECT_EQ(row_values[r], predicted) << "row " << r;
    EXPECT_EQ(grown.PredictBinned(bins, r), predicted) << "row " << r;
  }
  // ... and walked in batches, of all rows but the last, so that the last batch is short.
  for (std::size_t at = 0; at < n - 1; at += GrownTree::kBatch) {
    const std::size_t count = std::min(GrownTree::kBatch, n - 1 - at);
    std::array<float, GrownTree::kBatch> out;
    out.fill(kNaN);
    grown.PredictBinned(bins, rows.data() + at, count, out.data());
    for (std::size_t q = 0; q < count; ++q) EXPECT_EQ(out[q], row_values[at + q]) << "row " << at + q;
  }
  double g_max = 0;
  for (const auto& p : gradients) g_max = std::max(g_max, std::abs(static_cast<double>(p.g)));
  const double half_step = g_max * static_cast<double>(n) / 2147483647.0 / 2;
  std::size_t leaves = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (!nodes[i].leaf() || reach[i].empty()) continue;
    ++leaves;
    double g = 0, h = 0;
    for (auto r : reach[i]) {
      g += gradients[r].g;
      h += gradients[r].h;
    }
    double exact = -g / (h + options.lambda) * options.learning_rate;
    EXPECT_NEAR(nodes[i].value, exact, half_step * options.learning_rate + 1e-6 * std::abs(exact)) << "node " << i;
  }
  EXPECT_GT(leaves, 8U);

  // Another thread count grows the same tree.
  options.threads = 1;
  std::mt19937_64 again_rng(1);
  auto again_order = rows;
  std::vector<double> again_gain(4, 0.0);
  auto again = GrowTree(bins, gradients, again_order, features, options, again_rng, again_gain, workspace);
  ASSERT_EQ(again.tree.nodes.size(), nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    EXPECT_EQ(again.tree.nodes[i].value, nodes[i].value);
    EXPECT_EQ(again.tree.nodes[i].flags, nodes[i].flags);
  }
}

TEST(GrowTreeTest, HistogramSplitsAreTheBestAndLeavesMatchPrediction) {
  // The top levels keep histograms and derive the larger child's by subtraction.
  CheckGrownTree(6000, 4);
}

TEST(GrowTreeTest, NodesBuiltByRowsAreTheBestAndLeavesMatchPrediction) {
  // Nodes of 8,192 rows a thread and more are built by rows: each thread sums its share of them
  // into histograms of its own, and the shares are added up.
  CheckGrownTree(40000, 4);
  CheckGrownTree(40000, 4, {0, 1, 3});  // histograms of some features only
}

TEST(GrowTreeTest, SplitsBetweenRawValuesAreTheBestAndLeavesMatchPrediction) {
  // Nodes of at most 128 rows sort their raw values instead.
  CheckGrownTree(250, 6);
}

TEST(GrowTreeTest, PureNodesOfWholeWeightsAreNotSplit) {
  // A forest's rows: class targets weighted by how often a bootstrap drew them (whole numbers,
  // which the fixed point keeps exact). One cut separates the classes, after which both sides are
  // pure and must stay leaves: rounding could make their splits seem to gain.
  std::mt19937_64 rng(8);
  std::uniform_real_distribution<float> uniform;
  std::uniform_int_distribution<int> draws(1, 5);
  const std::size_t n = 100000;  // enough rows for coarse steps, were the weights not kept whole
  Matrix x(n, 2);
  std::vector<GradientPair> gradients(n);
  std::vector<std::uint32_t> rows(n);
  for (std::size_t r = 0; r < n; ++r) {
    x.at(r, 0) = static_cast<float>(draws(rng) + draws(rng));  // 2..10: a bin each
    x.at(r, 1) = uniform(rng);
    // (Heavier weights on class 0, so the largest g and the largest h differ.)
    bool positive = x.at(r, 0) > 5;
    auto w = static_cast<float>(positive ? draws(rng) : draws(rng) + 2);
    gradients[r] = {positive ? -w : 0.0F, w};
    rows[r] = static_cast<std::uint32_t>(r);
  }
  BinnedMatrix bins(x, 255, 1, 1);
  GrowOptions options;
  options.max_depth = 10;
  options.lambda = 0;
  std::vector<std::uint32_t> features = {0, 1};
  std::vector<double> gain(2, 0.0);
  GrowWorkspace workspace;
  std::mt19937_64 tree_rng(1);
  auto grown = GrowTree(bins, gradients, rows, features, options, tree_rng, gain, workspace);
  ASSERT_EQ(grown.tree.nodes.size(), 3U);
  EXPECT_EQ(grown.tree.nodes[0].feature(), 0U);
  EXPECT_EQ(grown.tree.nodes[1].value, 0.0F);
  EXPECT_EQ(grown.tree.nodes[2].value, 1.0F);
}

TEST(BernoulliRowsTest, DrawsEachRowWithTheChanceWhateverTheThreads) {
  std::vector<std::uint32_t> others;
  auto rows = BernoulliRows(100000, 0.8, 42, 1, others);
  EXPECT_NEAR(static_cast<double>(rows.size()) / 100000, 0.8, 0.01);
  EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
  EXPECT_TRUE(std::is_sorted(others.begin(), others.end()));
  std::vector<std::uint32_t> all;
  std::merge(rows.begin(), rows.end(), others.begin(), others.end(), std::back_inserter(all));
  ASSERT_EQ(all.size(), 100000U);
  for (std::uint32_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i);  // each row once, drawn or not
  std::vector<std::uint32_t> others_again;
  EXPECT_EQ(BernoulliRows(100000, 0.8, 42, 2, others_again), rows);
  EXPECT_EQ(others_again, others);
  EXPECT_NE(BernoulliRows(100000, 0.8, 43, 2, others_again), rows);
  EXPECT_TRUE(BernoulliRows(1000, 0, 42, 2, others_again).empty());
  EXPECT_EQ(others_again.size(), 1000U);
}

TEST(SampleRowsTest, ExactCountAscendingAndDistinct) {
  std::mt19937_64 rng(2);
  auto rows = SampleRows(1000, 632, rng);
  ASSERT_EQ(rows.size(), 632U);
  EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
  EXPECT_EQ(std::set<std::uint32_t>(rows.begin(), rows.end()).size(), 632U);
  EXPECT_LT(rows.back(), 1000U);
  EXPECT_EQ(SampleRows(10, 20, rng).size(), 10U);
  EXPECT_NE(SampleRows(1000, 500, rng), SampleRows(1000, 500, rng));
}

}  // namespace
}  // namespace playground::ml::detail
