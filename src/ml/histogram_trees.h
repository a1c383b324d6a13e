// Internal to the ml module: the histogram decision-tree engine under gradient_boosting and
// random_forest. Features are cut into at most 255 bins once per fit; each tree is grown level by
// level from per-node histograms of fixed-point gradient sums (with the sibling-subtraction trick
// where every feature is tried), and stored as plain nodes that split on raw feature values.
//
// Written here rather than taken from a library: Debian 12's only tree-ensemble library, XGBoost
// 1.7.4, spends ~0.3 s sketching quantiles and ~9 ms per boosting round on 160k x 20 rows, and its
// forests need either the exact method (slow) or per-node histograms kept for the whole tree
// (gigabytes on deep trees), which left our fits 1.3-2.3x faster than scikit-learn where the goal
// is 3x (bench/ml/README.md has the figures).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "ml/model.h"

namespace playground::ml::detail {

// The rows' features as bin numbers, one byte per value, both row-major (for histograms, which
// read every feature of a row) and column-major (for partitions, which read one feature of many
// rows: a column stays in cache where the row-major bytes do not). Bin 0 holds missing values
// (NaN); a value v of feature c falls in bin 1 + the index of the first cut of c that is >= v, so
// "bin <= b" is the same test as "v <= Cut(c, b)". The raw values stay readable through Value
// (small nodes split between them), so the Matrix must outlive this. Immutable after construction,
// so safe for concurrent use.
class BinnedMatrix {
 public:
  static constexpr int kMaxBins = 255;  // value bins per feature; one byte holds them and bin 0

  // Cuts come from the distinct values of at most kCutSampleRows rows (a sample drawn with
  // `seed` when there are more): midpoints between neighbours when a feature has at most
  // `max_bins` distinct values, else midpoints at evenly spaced ranks.
  BinnedMatrix(const Matrix& x, int max_bins, std::uint64_t seed, int threads);

  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  const std::uint8_t* Row(std::size_t r) const { return bins_.data() + r * cols_; }
  const std::uint8_t* Column(std::size_t c) const { return columns_.data() + c * rows_; }
  float Value(std::size_t r, std::size_t c) const { return raw_->values[r * cols_ + c]; }
  // The largest value of bin `bin` (1-based) of feature `c`; the last bin's is +infinity.
  float Cut(std::size_t c, int bin) const { return cuts_[c][static_cast<std::size_t>(bin) - 1]; }
  int Bins(std::size_t c) const { return static_cast<int>(cuts_[c].size()); }

  static constexpr std::size_t kCutSampleRows = 50000;

 private:
  const Matrix* raw_;
  std::size_t rows_;
  std::size_t cols_;
  std::vector<std::vector<float>> cuts_;
  std::vector<std::uint8_t> bins_;
  std::vector<std::uint8_t> columns_;
};

// One node of a grown tree: a split "row[feature] <= value goes to `left`, else to left + 1",
// with missing values sent left or right as training found best, or a leaf whose output is
// `value`. 12 bytes, so deep forests stay compact in memory and in saved models.
struct TreeNode {
  static constexpr std::uint32_t kLeaf = 1U << 31;
  static constexpr std::uint32_t kMissingLeft = 1U << 30;
  static constexpr std::uint32_t kFeatureMask = kMissingLeft - 1;

  float value = 0;
  std::uint32_t flags = kLeaf;  // kLeaf, or the feature index | kMissingLeft when it applies
  std::uint32_t left = 0;

  bool leaf() const { return (flags & kLeaf) != 0; }
  std::uint32_t feature() const { return flags & kFeatureMask; }
};

// A tree's nodes, the root first. Children always come after their parent (Load checks it), so
// every walk ends.
struct Tree {
  std::vector<TreeNode> nodes;

  float Predict(const float* row) const {
    const TreeNode* node = nodes.data();
    while (!node->leaf()) {
      // Without branches: a NaN compares false, so it goes right unless its node sends it left.
      float v = row[node->feature()];
      bool right = !(v <= node->value);
      right ^= (v != v) && (node->flags & TreeNode::kMissingLeft) != 0;
      node = nodes.data() + node->left + static_cast<std::uint32_t>(right);
    }
    return node->value;
  }
};

// A row's gradient and hessian of the loss at the current prediction. A forest fits plain means
// with g = -target, h = 1.
struct GradientPair {
  float g;
  float h;
};

struct GrowOptions {
  int max_depth = 6;
  double min_child_weight = 1;  // least hessian sum on each side of a split
  double lambda = 1;            // L2 on leaf values
  double alpha = 0;             // L1 on leaf values
  double gamma = 0;             // least loss reduction of a split
  double learning_rate = 1;     // scales every leaf value
  // Features tried at each node, drawn from `features` (all of them when 0 or more).
  std::size_t features_per_node = 0;
  int threads = 1;
};

struct GrownTree {
  Tree tree;
  // Per node: the bin its split tests ("bin <= b" is "value <= threshold"), or 0 for a split
  // between raw values, which bins cannot tell apart.
  std::vector<std::uint8_t> bins;

  // The tree's output for row r of the matrix it was grown on, read from its bins where it can:
  // a row's bins take a quarter of the cache lines its raw values do.
  float PredictBinned(const BinnedMatrix& x, std::size_t r) const {
    const std::uint8_t* row = x.Row(r);
    std::uint32_t at = 0;
    while (!tree.nodes[at].leaf()) at = Child(x, r, row, at);
    return tree.nodes[at].value;
  }

  // out[q] = PredictBinned(x, rows[q]) for q < count <= kBatch, the walks side by side: they
  // are independent, so the processor overlaps them instead of waiting on each node in turn.
  static constexpr std::size_t kBatch = 4;
  void PredictBinned(const BinnedMatrix& x, const std::uint32_t* rows, std::size_t count, float* out) const {
    std::array<std::uint32_t, kBatch> at{};
    std::array<const std::uint8_t*, kBatch> row{};
    for (std::size_t q = 0; q < count; ++q) row[q] = x.Row(rows[q]);
    for (bool walking = true; walking;) {
      walking = false;
      for (std::size_t q = 0; q < count; ++q) {
        if (tree.nodes[at[q]].leaf()) continue;
        walking = true;
        at[q] = Child(x, rows[q], row[q], at[q]);
      }
    }
    for (std::size_t q = 0; q < count; ++q) out[q] = tree.nodes[at[q]].value;
  }

 private:
  // The child of split node `at` that row r, whose bins are `row`, goes to.
  std::uint32_t Child(const BinnedMatrix& x, std::size_t r, const std::uint8_t* row, std::uint32_t at) const {
    const TreeNode& node = tree.nodes[at];
    bool left;
    if (bins[at] != 0) {
      std::uint8_t bin = row[node.feature()];
      left = bin == 0 ? (node.flags & TreeNode::kMissingLeft) != 0 : bin <= bins[at];
    } else {
      float v = x.Value(r, node.feature());
      left = v != v ? (node.flags & TreeNode::kMissingLeft) != 0 : v <= node.value;
    }
    return node.left + (left ? 0U : 1U);
  }
};

// A gradient and hessian, or a sum of them, in fixed point: g * 2^32 + h in steps chosen per tree
// (h >= 0), so that one integer addition adds both, and sums are exact whatever their order: a
// histogram derived by subtraction holds no rounding noise, and any thread count finds the same
// sums.
using PackedSum = std::int64_t;

// One small node's row for a feature, when its split is found by sorting instead of a histogram.
struct BinEntry {
  float value;
  PackedSum sum;
};

// The buffers GrowTree works in, kept from one tree to the next so that growing a tree does not
// clear megabytes of fresh memory. Requires external synchronization: one per growing thread.
struct GrowWorkspace {
  std::vector<PackedSum> packed;  // each row's gradient
  std::vector<std::uint32_t> next_rows;
  std::vector<std::uint32_t> spare_rows;
  std::vector<PackedSum> pool;
  std::vector<PackedSum> parent_pool;
  std::vector<std::vector<PackedSum>> scratch;  // per thread
  std::vector<std::vector<BinEntry>> entries;   // per thread
};

// Grows one tree on `rows` (distinct indices into `x` and `gradients`; their order is left
// changed).
// `features` lists the features this tree may use. Split gains are added to `gain` (one entry
// per feature of x). When `row_values` is not empty, row_values[r] is set, for each r of `rows`,
// to the value of the leaf r ends in. Deterministic for a given `rng` state whatever
// options.threads is.
GrownTree GrowTree(const BinnedMatrix& x, std::span<const GradientPair> gradients, std::span<std::uint32_t> rows,
                   std::span<const std::uint32_t> features, const GrowOptions& options, std::mt19937_64& rng,
                   std::vector<double>& gain, GrowWorkspace& workspace, std::span<float> row_values = {});

// `count` of the numbers 0..n-1, drawn without replacement, in ascending order.
std::vector<std::uint32_t> SampleRows(std::size_t n, std::size_t count, std::mt19937_64& rng);

// Each of the numbers 0..n-1 with probability `fraction`, independently, in ascending order; the
// numbers not drawn go to `others`, also in ascending order. Which are drawn depends on `seed`
// only, not on `threads`.
std::vector<std::uint32_t> BernoulliRows(std::size_t n, double fraction, std::uint64_t seed, int threads,
                                         std::vector<std::uint32_t>& others);

}  // namespace playground::ml::detail
