// The tree-ensemble family of the registry: gradient-boosted trees and random forests, grown by
// the histogram engine (histogram_trees.h). This file owns the training loops (gradients, row and
// feature sampling, progress and cancellation), prediction and the saved-model format.
#include <omp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.h"
#include "data/types.h"
#include "ml/algorithms.h"
#include "ml/histogram_trees.h"

namespace playground::ml::detail {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr std::string_view kGradientBoosting = "gradient_boosting";
constexpr std::string_view kRandomForest = "random_forest";
// Identifies the bytes Save writes; bumped when their layout changes.
constexpr std::string_view kSavedFormat = "playground-trees";
constexpr int kSavedVersion = 1;
// Rows per parallel chunk of prediction.
constexpr std::int64_t kPredictChunk = 256;

std::vector<std::uint32_t> AllIndexes(std::size_t n) {
  std::vector<std::uint32_t> all(n);
  std::iota(all.begin(), all.end(), 0U);
  return all;
}

// Appends / reads the little-endian bytes of trivially copyable values (the saved body).
template <typename T>
void Put(std::string& out, const T* values, std::size_t count) {
  out.append(reinterpret_cast<const char*>(values), count * sizeof(T));
}
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  void Get(T* values, std::size_t count) {
    if (count > (bytes_.size() - at_) / sizeof(T)) Fail(ErrorCode::kInvalidArgument, "the saved model is truncated");
    std::memcpy(values, bytes_.data() + at_, count * sizeof(T));
    at_ += count * sizeof(T);
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  std::size_t at_ = 0;
};

// What both algorithms share: checking the training data, the trees and how their outputs become
// predictions, importance and the saved format. A model has `outputs` scores per row (one, or
// one per class for a multiclass task); tree i adds to output i % outputs. Subclasses grow the
// trees. Follows the Model contract: Fit/Load once, then Predict is safe for concurrent use.
class TreeEnsemble : public Model {
 public:
  // `averaged`: a row's output is the mean of its trees (a forest) rather than their sum.
  TreeEnsemble(std::string_view algorithm, const ModelSpec& spec, bool averaged)
      : algorithm_(algorithm),
        spec_(spec),
        params_(ResolveParams(FindAlgorithm(algorithm), spec.params)),
        averaged_(averaged) {
    if (IsClassification(spec.task) && spec.classes < 2) {
      Fail(ErrorCode::kValidation,
           std::string(algorithm) + " needs at least 2 classes (got " + std::to_string(spec.classes) + ")");
    }
    if (spec.task == Task::kBinary && spec.classes != 2) {
      Fail(ErrorCode::kValidation, "a binary task has exactly 2 classes (got " + std::to_string(spec.classes) + ")");
    }
    if (!IsClassification(spec.task) && spec.task != Task::kRegression) {
      Fail(ErrorCode::kValidation, std::string(algorithm) + " does not support " + std::string(TaskName(spec.task)));
    }
  }

  void Fit(const Matrix& x, std::span<const double> y, const TrainContext& context) final {
    CheckTrainingData(x, y);
    features_ = x.cols;
    gain_.assign(x.cols, 0.0);
    BinnedMatrix bins(x, params_.at("max_bin").get<int>(), context.seed, std::max(1, context.threads));
    Grow(x, bins, y, context);
    trained_ = true;
  }

  Predictions Predict(const Matrix& x) const final {
    if (!trained_) Fail(ErrorCode::kConflict, algorithm_ + " model has not been trained or loaded");
    if (x.cols != features_) {
      Fail(ErrorCode::kValidation, "the model was trained on " + std::to_string(features_) +
                                       " features but the rows to predict have " + std::to_string(x.cols));
    }
    if (x.values.size() != x.rows * x.cols) Fail(ErrorCode::kInternal, "feature matrix size does not match its shape");
    Predictions out;
    out.classes = IsClassification(spec_.task) ? spec_.classes : 0;
    const std::size_t k = Outputs();
    std::vector<double> raw(x.rows * k);
    auto rows = static_cast<std::int64_t>(x.rows);
    int threads = std::max(1, spec_.threads);
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1 && rows > kPredictChunk)
    for (std::int64_t begin = 0; begin < rows; begin += kPredictChunk) {
      for (auto r = static_cast<std::size_t>(begin);
           r < static_cast<std::size_t>(std::min(begin + kPredictChunk, rows)); ++r) {
        Score(x.values.data() + r * x.cols, raw.data() + r * k);
      }
    }
    out.values.resize(x.rows);
    if (!IsClassification(spec_.task)) {
      out.values = std::move(raw);
      return out;
    }
    out.probabilities.resize(x.rows * spec_.classes);
    for (std::size_t r = 0; r < x.rows; ++r) {
      double* p = out.probabilities.data() + r * spec_.classes;
      Probabilities(raw.data() + r * k, p);
      out.values[r] = static_cast<double>(std::max_element(p, p + spec_.classes) - p);
    }
    return out;
  }

  std::vector<double> FeatureImportance() const final {
    double total = std::accumulate(gain_.begin(), gain_.end(), 0.0);
    // A model without a single split (e.g. constant labels) has no importance to report.
    if (!(total > 0)) return {};
    std::vector<double> shares = gain_;
    for (double& share : shares) share /= total;
    return shares;
  }

  // A one-line JSON header (what Load needs to check that the model fits the spec), a newline,
  // then the little-endian body: `outputs` float64 base scores, `features` float64 total gains,
  // and per tree its node count (uint32) and nodes (12 bytes each: float32 value, uint32 flags,
  // uint32 left child). The body is raw rather than JSON: a deep forest holds millions of nodes.
  std::string Save() const final {
    if (!trained_) Fail(ErrorCode::kConflict, algorithm_ + " model has not been trained or loaded");
    nlohmann::json header = {{"format", kSavedFormat},       {"version", kSavedVersion}, {"algorithm", algorithm_},
                             {"task", TaskName(spec_.task)}, {"classes", spec_.classes}, {"features", features_},
                             {"outputs", Outputs()},         {"trees", trees_.size()}};
    std::string bytes = header.dump() + "\n";
    Put(bytes, base_.data(), base_.size());
    Put(bytes, gain_.data(), gain_.size());
    for (const auto& tree : trees_) {
      auto count = static_cast<std::uint32_t>(tree.nodes.size());
      Put(bytes, &count, 1);
      Put(bytes, tree.nodes.data(), tree.nodes.size());
    }
    return bytes;
  }

  void Load(std::string_view bytes) final {
    if (trained_) Fail(ErrorCode::kConflict, algorithm_ + " model is already trained");
    auto newline = bytes.find('\n');
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(bytes.substr(0, newline));
      if (header.at("format").get<std::string>() != kSavedFormat) header = nullptr;
    } catch (const nlohmann::json::exception&) {
      header = nullptr;
    }
    if (newline == std::string_view::npos || header.is_null()) {
      Fail(ErrorCode::kInvalidArgument, "the bytes are not a saved " + algorithm_ + " model");
    }
    std::size_t features = 0;
    std::size_t outputs = 0;
    std::size_t trees = 0;
    try {
      int version = header.at("version").get<int>();
      if (version != kSavedVersion) {
        Fail(ErrorCode::kInvalidArgument, "the saved model has format version " + std::to_string(version) +
                                              "; this build reads version " + std::to_string(kSavedVersion));
      }
      auto algorithm = header.at("algorithm").get<std::string>();
      auto task = header.at("task").get<std::string>();
      auto classes = header.at("classes").get<std::size_t>();
      if (algorithm != algorithm_ || task != TaskName(spec_.task) || classes != spec_.classes) {
        Fail(ErrorCode::kValidation, "the saved model is a " + algorithm + " " + task + " model with " +
                                         std::to_string(classes) + " classes; it cannot be loaded as a " + algorithm_ +
                                         " " + std::string(TaskName(spec_.task)) + " model with " +
                                         std::to_string(spec_.classes) + " classes");
      }
      features = header.at("features").get<std::size_t>();
      outputs = header.at("outputs").get<std::size_t>();
      trees = header.at("trees").get<std::size_t>();
    } catch (const nlohmann::json::exception&) {
      Fail(ErrorCode::kInvalidArgument, "the saved model's header is incomplete");
    }
    if (outputs != Outputs() || trees == 0 || trees % outputs != 0 || features == 0 ||
        features > TreeNode::kFeatureMask) {
      Fail(ErrorCode::kInvalidArgument, "the saved model's header does not describe a " + algorithm_ + " model");
    }
    Reader body(bytes.substr(newline + 1));
    std::vector<double> base(outputs);
    std::vector<double> gain(features);
    body.Get(base.data(), base.size());
    body.Get(gain.data(), gain.size());
    std::vector<Tree> loaded;
    for (std::size_t t = 0; t < trees; ++t) {
      std::uint32_t count = 0;
      body.Get(&count, 1);
      Tree tree;
      // Read in bounded steps: a damaged count must fail on the missing bytes, not allocate first.
      while (tree.nodes.size() < count) {
        std::size_t step = std::min<std::size_t>(count - tree.nodes.size(), 65536);
        auto at = tree.nodes.size();
        tree.nodes.resize(at + step);
        body.Get(tree.nodes.data() + at, step);
      }
      CheckTree(tree, features);
      loaded.push_back(std::move(tree));
    }
    if (!body.done()) Fail(ErrorCode::kInvalidArgument, "the saved model has bytes after its last tree");
    features_ = features;
    base_ = std::move(base);
    gain_ = std::move(gain);
    trees_ = std::move(loaded);
    trained_ = true;
  }

 protected:
  // Grows the trees (trees_, base_) on the checked rows, binned in `bins`; adds split gains to
  // gain_.
  virtual void Grow(const Matrix& x, const BinnedMatrix& bins, std::span<const double> y,
                    const TrainContext& context) = 0;
  // Turns one row's summed tree outputs (Outputs() of them) into class probabilities.
  virtual void Probabilities(const double* raw, double* p) const = 0;

  std::size_t Outputs() const { return spec_.task == Task::kMulticlass ? spec_.classes : 1; }
  const ModelSpec& spec() const { return spec_; }
  const nlohmann::json& params() const { return params_; }

  std::vector<double> base_;
  std::vector<Tree> trees_;
  std::vector<double> gain_;

 private:
  void Score(const float* row, double* raw) const {
    const std::size_t k = Outputs();
    std::fill_n(raw, k, 0.0);
    for (std::size_t t = 0; t < trees_.size(); ++t) raw[t % k] += trees_[t].Predict(row);
    double scale = averaged_ ? static_cast<double>(k) / static_cast<double>(trees_.size()) : 1.0;
    for (std::size_t c = 0; c < k; ++c) raw[c] = base_[c] + raw[c] * scale;
  }

  // Every node's feature exists and every split's children come after it, so a walk ends.
  static void CheckTree(const Tree& tree, std::size_t features) {
    if (tree.nodes.empty()) Fail(ErrorCode::kInvalidArgument, "the saved model has an empty tree");
    for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
      const auto& node = tree.nodes[i];
      if (node.leaf()) continue;
      if (node.feature() >= features || node.left <= i || node.left >= tree.nodes.size() - 1 ||
          (node.flags & ~(TreeNode::kFeatureMask | TreeNode::kMissingLeft)) != 0) {
        Fail(ErrorCode::kInvalidArgument, "the saved model has a damaged tree");
      }
    }
  }

  void CheckTrainingData(const Matrix& x, std::span<const double> y) const {
    if (trained_) Fail(ErrorCode::kConflict, algorithm_ + " model is already trained");
    if (x.rows == 0 || x.cols == 0) Fail(ErrorCode::kValidation, "training needs at least one row and one feature");
    if (x.values.size() != x.rows * x.cols) Fail(ErrorCode::kInternal, "feature matrix size does not match its shape");
    if (x.rows > std::numeric_limits<std::uint32_t>::max()) {
      Fail(ErrorCode::kValidation, "tree models train on at most 4294967295 rows");
    }
    if (y.size() != x.rows) {
      Fail(ErrorCode::kValidation,
           "got " + std::to_string(y.size()) + " labels for " + std::to_string(x.rows) + " training rows");
    }
    for (double label : y) {
      if (IsClassification(spec_.task)) {
        if (!(label >= 0 && label < static_cast<double>(spec_.classes) && std::floor(label) == label)) {
          Fail(ErrorCode::kValidation, "class labels must be class indexes 0 to " + std::to_string(spec_.classes - 1) +
                                           " (got " + data::FormatNumber(label) + ")");
        }
      } else if (!std::isfinite(label)) {
        Fail(ErrorCode::kValidation, "regression targets must be finite numbers; remove or impute missing targets");
      }
    }
  }

  std::string algorithm_;
  ModelSpec spec_;
  nlohmann::json params_;
  bool averaged_;
  std::size_t features_ = 0;
  bool trained_ = false;
};

// Gradient boosting (Newton steps, XGBoost's formulation): each round fits one tree per output to
// the loss's gradients and hessians at the current scores, on a row sample, and adds it scaled by
// the learning rate. Losses: logistic (binary), softmax (multiclass), squared error (regression);
// scores start at the prior log-odds, log-priors or mean target. Progress is reported after every
// round. Thread contract as TreeEnsemble.
class GradientBoosting final : public TreeEnsemble {
 public:
  explicit GradientBoosting(const ModelSpec& spec) : TreeEnsemble(kGradientBoosting, spec, false) {}

 protected:
  void Probabilities(const double* raw, double* p) const override {
    if (spec().task == Task::kBinary) {
      p[1] = 1.0 / (1.0 + std::exp(-raw[0]));
      p[0] = 1.0 - p[1];
      return;
    }
    double top = *std::max_element(raw, raw + spec().classes);
    double sum = 0;
    for (std::size_t c = 0; c < spec().classes; ++c) sum += p[c] = std::exp(raw[c] - top);
    for (std::size_t c = 0; c < spec().classes; ++c) p[c] /= sum;
  }

  void Grow(const Matrix& x, const BinnedMatrix& bins, std::span<const double> y,
            const TrainContext& context) override {
    const auto& p = params();
    const int threads = std::max(1, context.threads);
    const std::size_t n = x.rows;
    const std::size_t k = Outputs();
    std::mt19937_64 rng(context.seed);

    base_ = StartingScores(y);
    std::vector<double> scores(n * k);
    for (std::size_t r = 0; r < n; ++r) std::copy(base_.begin(), base_.end(), scores.begin() + r * k);

    GrowOptions options;
    options.max_depth = p.at("max_depth").get<int>();
    options.min_child_weight = p.at("min_child_weight").get<double>();
    options.lambda = p.at("reg_lambda").get<double>();
    options.alpha = p.at("reg_alpha").get<double>();
    options.gamma = p.at("gamma").get<double>();
    options.learning_rate = p.at("learning_rate").get<double>();
    options.threads = threads;
    const double subsample = p.at("subsample").get<double>();
    const double colsample = p.at("colsample_bytree").get<double>();
    const int rounds = p.at("n_estimators").get<int>();
    const auto sample_features =
        static_cast<std::size_t>(std::max(1.0, std::round(colsample * static_cast<double>(x.cols))));

    std::vector<std::vector<GradientPair>> gradients(k, std::vector<GradientPair>(n));
    std::vector<std::uint32_t> others;  // the rows a round did not draw
    std::vector<float> row_values(n);   // each drawn row's leaf value in the last tree
    GrowWorkspace workspace;
    for (int round = 0; round < rounds; ++round) {
      ComputeGradients(y, scores, gradients, threads);
      // Rows are drawn one by one, as XGBoost does (the count varies a little); a draw of none,
      // possible on a handful of rows, takes them all.
      others.clear();
      auto rows = subsample < 1 ? BernoulliRows(n, subsample, rng(), threads, others) : AllIndexes(n);
      if (rows.empty()) {
        rows = AllIndexes(n);
        others.clear();
      }
      auto features = sample_features < x.cols ? SampleRows(x.cols, sample_features, rng) : AllIndexes(x.cols);
      for (std::size_t c = 0; c < k; ++c) {
        auto order = rows;
        auto grown = GrowTree(bins, gradients[c], order, features, options, rng, gain_, workspace, row_values);
        // The drawn rows' new scores come from their leaves; the others walk the tree on their
        // bins, a batch at a time. They are too sparse for the hardware to fetch ahead: it is
        // asked for the rows 16 on.
        constexpr std::size_t kBatch = GrownTree::kBatch;
        const auto drawn = static_cast<std::int64_t>(rows.size());
        const auto batches = static_cast<std::int64_t>((others.size() + kBatch - 1) / kBatch);
#pragma omp parallel num_threads(threads) if (threads > 1)
        {
#pragma omp for schedule(static) nowait
          for (std::int64_t i = 0; i < drawn; ++i) {
            std::size_t row = rows[static_cast<std::size_t>(i)];
            scores[row * k + c] += row_values[row];
          }
#pragma omp for schedule(static)
          for (std::int64_t b = 0; b < batches; ++b) {
            const auto at = static_cast<std::size_t>(b) * kBatch;
            const std::size_t count = std::min(kBatch, others.size() - at);
            for (std::size_t q = at + 16; q < std::min(at + 16 + kBatch, others.size()); ++q)
              __builtin_prefetch(bins.Row(others[q]));
            std::array<float, kBatch> out;
            grown.PredictBinned(bins, others.data() + at, count, out.data());
            for (std::size_t q = 0; q < count; ++q) scores[others[at + q] * k + c] += out[q];
          }
        }
        trees_.push_back(std::move(grown.tree));
      }
      context.Report(static_cast<double>(round + 1) / rounds, "boosting");
    }
  }

 private:
  std::vector<double> StartingScores(std::span<const double> y) const {
    auto n = static_cast<double>(y.size());
    if (spec().task == Task::kRegression) return {std::accumulate(y.begin(), y.end(), 0.0) / n};
    std::vector<double> share(spec().classes, 0.0);
    for (double label : y) share[static_cast<std::size_t>(label)] += 1.0 / n;
    for (double& s : share) s = std::clamp(s, 1e-6, 1 - 1e-6);
    if (spec().task == Task::kBinary) return {std::log(share[1] / share[0])};
    for (double& s : share) s = std::log(s);
    return share;
  }

  void ComputeGradients(std::span<const double> y, const std::vector<double>& scores,
                        std::vector<std::vector<GradientPair>>& gradients, int threads) const {
    const std::size_t k = gradients.size();
    const Task task = spec().task;
    auto rows = static_cast<std::int64_t>(y.size());
    // One loop per task, over plain pointers, so that the compiler vectorises the simple ones.
    const double* s = scores.data();
    const double* t = y.data();
    if (task == Task::kRegression) {
      GradientPair* out = gradients[0].data();
#pragma omp parallel for simd schedule(static) num_threads(threads) if (threads > 1)
      for (std::int64_t r = 0; r < rows; ++r) out[r] = {static_cast<float>(s[r] - t[r]), 1.0F};
      return;
    }
    if (task == Task::kBinary) {
      GradientPair* out = gradients[0].data();
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
      for (std::int64_t r = 0; r < rows; ++r) {
        double p = 1.0 / (1.0 + std::exp(-s[r]));
        out[r] = {static_cast<float>(p - t[r]), static_cast<float>(std::max(p * (1 - p), 1e-16))};
      }
      return;
    }
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (std::int64_t i = 0; i < rows; ++i) {
      auto r = static_cast<std::size_t>(i);
      const double* mine = s + r * k;
      double top = *std::max_element(mine, mine + k);
      double sum = 0;
      for (std::size_t c = 0; c < k; ++c) sum += std::exp(mine[c] - top);
      for (std::size_t c = 0; c < k; ++c) {
        double p = std::exp(mine[c] - top) / sum;
        double target = static_cast<double>(c) == t[r] ? 1.0 : 0.0;
        gradients[c][r] = {static_cast<float>(p - target), static_cast<float>(std::max(p * (1 - p), 1e-16))};
      }
    }
  }
};

// Random forest (Breiman's, as scikit-learn grows it, on binned features): every tree is fitted
// to the targets on its own row sample, choosing among a random subset of features at each
// split, and the forest predicts the mean of its trees. A classifier's trees are regression trees
// on class indicators (one per class when there are more than two), so each leaf holds its rows'
// class share and a split's gain is its drop in Gini impurity; the probabilities are the shares
// averaged over the trees, scikit-learn's rule. Trees are grown on context.threads threads, one
// tree per thread at a time; the seed fixes every tree, whatever the thread count. Thread
// contract as TreeEnsemble.
class RandomForest final : public TreeEnsemble {
 public:
  explicit RandomForest(const ModelSpec& spec) : TreeEnsemble(kRandomForest, spec, true) {}

 protected:
  void Probabilities(const double* raw, double* p) const override {
    if (spec().task == Task::kBinary) {
      p[1] = std::clamp(raw[0], 0.0, 1.0);
      p[0] = 1.0 - p[1];
      return;
    }
    // Each class's trees were grown apart, so the shares are normalised to sum to 1.
    double sum = 0;
    for (std::size_t c = 0; c < spec().classes; ++c) sum += p[c] = std::max(raw[c], 0.0);
    for (std::size_t c = 0; c < spec().classes; ++c) {
      p[c] = sum > 0 ? p[c] / sum : 1.0 / static_cast<double>(spec().classes);
    }
  }

  void Grow(const Matrix& x, const BinnedMatrix& bins, std::span<const double> y,
            const TrainContext& context) override {
    const auto& p = params();
    const int threads = std::max(1, context.threads);
    const std::size_t n = x.rows;
    const std::size_t k = Outputs();

    // Targets as "gradients" g = -t, h = 1: a leaf's value -G / H is its rows' mean target.
    std::vector<std::vector<GradientPair>> targets(k, std::vector<GradientPair>(n));
    double mean = 0;
    if (spec().task == Task::kRegression) mean = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(n);
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t c = 0; c < k; ++c) {
        double t = spec().task == Task::kRegression ? y[r] - mean
                   : spec().task == Task::kBinary   ? y[r]
                                                    : (static_cast<double>(c) == y[r] ? 1.0 : 0.0);
        targets[c][r] = {static_cast<float>(-t), 1.0F};
      }
    }
    base_.assign(k, mean);

    GrowOptions options;
    options.max_depth = p.at("max_depth").get<int>();
    options.min_child_weight = p.at("min_child_weight").get<double>();
    options.lambda = 0;
    options.threads = 1;
    double fraction = p.at("colsample_bynode").get<double>();
    auto columns = static_cast<double>(x.cols);
    // 0: sqrt(features) for classification, all of them for regression (scikit-learn's defaults).
    double wanted = fraction > 0                    ? std::round(fraction * columns)
                    : IsClassification(spec().task) ? std::floor(std::sqrt(columns))
                                                    : columns;
    options.features_per_node = static_cast<std::size_t>(std::clamp(wanted, 1.0, columns));
    const auto sample_rows =
        static_cast<std::size_t>(std::max(1.0, std::round(p.at("subsample").get<double>() * static_cast<double>(n))));
    const bool bootstrap = p.at("bootstrap").get<bool>();
    const auto members = static_cast<std::size_t>(p.at("n_estimators").get<int>());
    const auto features = AllIndexes(x.cols);

    // Member m's trees and gains land in slot m, and its random numbers come from (seed, m), so
    // the forest does not depend on which thread grew what.
    std::vector<Tree> grown(members * k);
    std::vector<std::vector<double>> gains(members);
    std::vector<GrowWorkspace> workspaces(static_cast<std::size_t>(threads));
    // Per worker: how often each row was drawn, and the targets weighted by it.
    std::vector<std::vector<std::uint32_t>> drawn(static_cast<std::size_t>(threads));
    std::vector<std::vector<GradientPair>> weighted(static_cast<std::size_t>(threads));
    auto grow_member = [&](std::size_t m, std::size_t worker) {
      std::seed_seq seeds{static_cast<std::uint32_t>(context.seed), static_cast<std::uint32_t>(context.seed >> 32),
                          static_cast<std::uint32_t>(m)};
      std::mt19937_64 rng(seeds);
      gains[m].assign(x.cols, 0.0);
      if (!bootstrap) {
        auto rows = SampleRows(n, sample_rows, rng);
        for (std::size_t c = 0; c < k; ++c) {
          auto order = rows;
          grown[m * k + c] =
              GrowTree(bins, targets[c], order, features, options, rng, gains[m], workspaces[worker]).tree;
        }
        return;
      }
      // A bootstrap sample: rows drawn with replacement, each distinct row weighted by its draws
      // (g = -t * draws, h = draws), as scikit-learn weights them.
      auto& counts = drawn[worker];
      counts.assign(n, 0);
      std::uniform_int_distribution<std::size_t> pick(0, n - 1);
      for (std::size_t i = 0; i < sample_rows; ++i) ++counts[pick(rng)];
      std::vector<std::uint32_t> rows;
      for (std::size_t r = 0; r < n; ++r) {
        if (counts[r] > 0) rows.push_back(static_cast<std::uint32_t>(r));
      }
      auto& mine = weighted[worker];
      mine.resize(n);
      for (std::size_t c = 0; c < k; ++c) {
        for (auto r : rows) {
          auto w = static_cast<float>(counts[r]);
          mine[r] = {targets[c][r].g * w, w};
        }
        auto order = rows;
        grown[m * k + c] = GrowTree(bins, mine, order, features, options, rng, gains[m], workspaces[worker]).tree;
      }
    };
    RunInParallel(members, threads, grow_member, context);

    trees_ = std::move(grown);
    for (const auto& member : gains) {
      for (std::size_t f = 0; f < x.cols; ++f) gain_[f] += member[f];
    }
  }

 private:
  // Calls work(i, worker) for i in 0..count-1 on `threads` threads (worker: 0..threads-1) while this thread reports
  // progress after each finished call; a refused report (cancellation) or a failed call stops the rest, waits for the
  // calls under way and rethrows. No exception escapes a worker.
  template <typename Work>
  static void RunInParallel(std::size_t count, int threads, const Work& work, const TrainContext& context) {
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stop{false};
    std::mutex mutex;  // guards finished and failure
    std::condition_variable changed;
    std::size_t finished = 0;
    std::exception_ptr failure;
    auto worker = [&](std::size_t id) {
      while (!stop) {
        std::size_t i = next++;
        if (i >= count) return;
        try {
          work(i, id);
        } catch (...) {
          std::lock_guard lock(mutex);
          if (!failure) failure = std::current_exception();
          stop = true;
          changed.notify_all();
          return;
        }
        std::lock_guard lock(mutex);
        ++finished;
        changed.notify_all();
      }
    };
    {
      std::vector<std::jthread> pool;
      // Destroyed before the pool joins its threads, so they stop however this block is left.
      struct StopOnExit {
        std::atomic<bool>& stop;
        ~StopOnExit() { stop = true; }
      } stop_on_exit{stop};
      pool.reserve(static_cast<std::size_t>(threads));
      for (int t = 0; t < threads; ++t) pool.emplace_back(worker, static_cast<std::size_t>(t));
      std::size_t reported = 0;
      while (reported < count) {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return finished > reported || failure; });
        if (failure) break;
        std::size_t now = finished;
        lock.unlock();
        while (reported < now) {
          ++reported;
          context.Report(static_cast<double>(reported) / static_cast<double>(count), "growing trees");
        }
      }
    }
    if (failure) std::rethrow_exception(failure);
  }
};

// XGBoost's defaults except a learning rate of 0.1 (its own is 0.3) and 0.8 row sampling, which
// beats full sampling on the sample datasets. Feature sampling stays off: it lost ~0.03 R^2 on
// the benchmark's regression, whose target has interactions.
std::vector<ParamSpec> GradientBoostingParams() {
  using Type = ParamSpec::Type;
  return {
      {"n_estimators",
       Type::kInteger,
       1,
       10000,
       100,
       {},
       "Boosting rounds: trees per class, each correcting the last."},
      {"learning_rate", Type::kNumber, 0.0001, 1, 0.1, {}, "Shrinkage of each tree's contribution (eta)."},
      {"max_depth", Type::kInteger, 1, 20, 6, {}, "Maximum depth of each tree."},
      {"min_child_weight", Type::kNumber, 0, 1e6, 1, {}, "Minimum hessian sum in a leaf; larger is more conservative."},
      {"subsample",
       Type::kNumber,
       0.05,
       1,
       0.8,
       {},
       "Chance of each row to be used by a tree (drawn anew for each round)."},
      {"colsample_bytree", Type::kNumber, 0.05, 1, 1, {}, "Fraction of features sampled for each tree."},
      {"reg_lambda", Type::kNumber, 0, 10000, 1, {}, "L2 regularisation of leaf values."},
      {"reg_alpha", Type::kNumber, 0, 10000, 0, {}, "L1 regularisation of leaf values."},
      {"gamma", Type::kNumber, 0, 10000, 0, {}, "Minimum loss reduction a split must bring (min_split_loss)."},
      {"max_bin", Type::kInteger, 2, 255, 255, {}, "Histogram bins per feature; fewer is faster and coarser."},
  };
}

// scikit-learn's forest defaults: bootstrap samples of as many rows as the training set, trees
// grown until their leaves are pure, sqrt(features) per split for classification and all of them
// for regression.
std::vector<ParamSpec> RandomForestParams() {
  using Type = ParamSpec::Type;
  return {
      {"n_estimators", Type::kInteger, 1, 5000, 100, {}, "Number of trees in the forest."},
      {"max_depth", Type::kInteger, 1, 64, 64, {}, "Maximum depth of each tree (deeper trees make larger models)."},
      {"min_child_weight",
       Type::kNumber,
       1,
       1e6,
       1,
       {},
       "Fewest training rows a leaf may hold (a row drawn twice by bootstrap counts twice)."},
      {"bootstrap",
       Type::kBoolean,
       0,
       0,
       true,
       {},
       "Draw each tree's rows with replacement (a bootstrap sample); otherwise without."},
      {"subsample",
       Type::kNumber,
       0.05,
       1,
       1,
       {},
       "Rows drawn for each tree, as a fraction of the training rows; without bootstrap, keep it below 1 so that "
       "the trees differ."},
      {"colsample_bynode",
       Type::kNumber,
       0,
       1,
       0,
       {},
       "Fraction of features tried at each split; 0 means sqrt(features) for classification, all for regression."},
      {"max_bin", Type::kInteger, 2, 255, 255, {}, "Histogram bins per feature; fewer is faster and coarser."},
  };
}

}  // namespace

std::vector<AlgorithmSpec> TreeAlgorithms() {
  std::vector<Task> tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  return {
      {std::string(kGradientBoosting), "Gradient-boosted trees", "built-in histogram trees", tasks,
       GradientBoostingParams(),
       [](const ModelSpec& spec) -> std::unique_ptr<Model> { return std::make_unique<GradientBoosting>(spec); }},
      {std::string(kRandomForest), "Random forest", "built-in histogram trees", tasks, RandomForestParams(),
       [](const ModelSpec& spec) -> std::unique_ptr<Model> { return std::make_unique<RandomForest>(spec); }},
  };
}

}  // namespace playground::ml::detail
