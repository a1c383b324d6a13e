// The tree-ensemble family of the registry: gradient-boosted trees and random forests, both
// trained and evaluated by XGBoost's C API. This file owns the only calls into XGBoost: the RAII
// handles, the one status check that turns XGBoost's failures into core::Error, the training
// loops that report progress round by round, and the saved-model format.
#include <xgboost/c_api.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "ml/algorithms.h"

namespace playground::ml::detail {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr std::string_view kGradientBoosting = "gradient_boosting";
constexpr std::string_view kRandomForest = "random_forest";
// Identifies the bytes Save writes; bumped when their layout changes.
constexpr std::string_view kSavedFormat = "playground-xgboost-trees";
constexpr int kSavedVersion = 1;

// The one place an XGBoost status is looked at: the C API returns -1 and keeps the reason in a
// per-thread buffer, which must be read before the next call on this thread.
void Check(int status, std::string_view call) {
  if (status != 0) {
    Fail(ErrorCode::kInternal, "XGBoost " + std::string(call) + " failed: " + std::string(XGBGetLastError()));
  }
}

// XGBoost keeps its verbosity in thread-local configuration, so every thread that calls into it
// silences it once; a booster's own "verbosity" parameter only applies while it configures.
void QuietThisThread() {
  thread_local bool quiet = false;
  if (!quiet) {
    Check(XGBSetGlobalConfig(R"({"verbosity": 0})"), "XGBSetGlobalConfig");
    quiet = true;
  }
}

// Shortest text that parses back to the same double (XGBoost takes parameters as strings).
std::string NumberText(double value) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return {buffer, result.ptr};
}

// XGBoost's __array_interface__ description of a dense row-major float matrix that it reads in
// place (no copy) for the duration of one call.
std::string ArrayInterface(const Matrix& x) {
  auto address = reinterpret_cast<std::uintptr_t>(x.values.data());
  return R"({"data": [)" + std::to_string(address) + R"(, true], "shape": [)" + std::to_string(x.rows) + ", " +
         std::to_string(x.cols) + R"(], "typestr": "<f4", "version": 3})";
}

// The mean label, rounded to the float XGBoost stores as its base score.
double MeanAsFloat(std::span<const double> y) {
  double mean = 0;
  for (double label : y) mean += label / static_cast<double>(y.size());
  return static_cast<float>(mean);
}

// Owns one DMatrixHandle: the training rows (NaN = missing) and their labels.
// Thread-compatible; not copyable.
class DMatrix {
 public:
  // Histogram bins per feature, for a matrix that only the hist tree method will read.
  struct Binned {
    int max_bin;
  };

  // The rows as XGBoost's general matrix (a sparse copy), which every tree method reads.
  DMatrix(const Matrix& x, std::span<const double> labels, int threads) {
    Check(XGDMatrixCreateFromMat_omp(x.values.data(), x.rows, x.cols, std::numeric_limits<float>::quiet_NaN(), &handle_,
                                     threads),
          "XGDMatrixCreateFromMat");
    std::vector<float> y(labels.begin(), labels.end());
    Check(XGDMatrixSetFloatInfo(handle_, "label", y.data(), y.size()), "XGDMatrixSetFloatInfo");
  }

  // The rows straight into their histogram bins (XGBoost's QuantileDMatrix), the only form the
  // hist method reads. Without the sparse copy first, a 160k x 20 boosting fit peaks about 24 MB
  // (a quarter) lower, in the same time. XGBoost only builds one from its data-iterator
  // callbacks; here they hand over the whole matrix as a single batch.
  DMatrix(const Matrix& x, std::span<const double> labels, int threads, Binned binned) {
    SingleBatch batch(x, labels);
    Check(XGProxyDMatrixCreate(&batch.proxy), "XGProxyDMatrixCreate");
    std::string config = R"({"missing": NaN, "nthread": )" + std::to_string(threads) + R"(, "max_bin": )" +
                         std::to_string(binned.max_bin) + "}";
    int status = XGQuantileDMatrixCreateFromCallback(&batch, batch.proxy, nullptr, &SingleBatch::Reset,
                                                     &SingleBatch::Next, config.c_str(), &handle_);
    XGDMatrixFree(batch.proxy);
    if (!batch.error.empty()) {
      // A constructor that throws runs no destructor: free what XGBoost may have made of no data.
      if (status == 0) XGDMatrixFree(handle_);
      Fail(ErrorCode::kInternal, batch.error);
    }
    Check(status, "XGQuantileDMatrixCreateFromCallback");
  }

  ~DMatrix() {
    if (handle_ != nullptr) XGDMatrixFree(handle_);
  }
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;

  DMatrixHandle get() const { return handle_; }

 private:
  // The iterator behind the binned constructor: its first Next puts the matrix and labels on the
  // proxy, the second ends the data. XGBoost calls both (and Reset, when it reads the data again)
  // from the creating thread, during the create call.
  struct SingleBatch {
    SingleBatch(const Matrix& rows, std::span<const double> y) : x(rows), labels(y.begin(), y.end()) {}

    const Matrix& x;
    std::vector<float> labels;
    DMatrixHandle proxy = nullptr;
    std::string interface;
    bool given = false;
    std::string error;

    static void Reset(DataIterHandle handle) { static_cast<SingleBatch*>(handle)->given = false; }
    static int Next(DataIterHandle handle) {
      auto* self = static_cast<SingleBatch*>(handle);
      if (self->given) return 0;
      self->given = true;
      self->interface = ArrayInterface(self->x);
      if (XGProxyDMatrixSetDataDense(self->proxy, self->interface.c_str()) != 0 ||
          XGDMatrixSetFloatInfo(self->proxy, "label", self->labels.data(), self->labels.size()) != 0) {
        // No exception may cross XGBoost's C frames: keep the reason and end the data.
        self->error = "XGBoost could not take the training rows: " + std::string(XGBGetLastError());
        return 0;
      }
      return 1;
    }
  };

  DMatrixHandle handle_ = nullptr;
};

// Owns one BoosterHandle. Training, SetParam and Load require external synchronization.
// Prediction is safe for concurrent use once nothing else touches the booster: XGBoost documents
// every prediction function of a tree booster (gbtree) as thread-safe since 1.4 (its lazy
// configuration is double-checked under the learner's own lock, and results land in per-thread
// buffers, which PredictDense copies out before returning), so no mutex guards it here.
class Booster {
 public:
  Booster() {
    QuietThisThread();
    Check(XGBoosterCreate(nullptr, 0, &handle_), "XGBoosterCreate");
  }
  explicit Booster(const DMatrix& train) {
    QuietThisThread();
    DMatrixHandle cache[] = {train.get()};
    Check(XGBoosterCreate(cache, 1, &handle_), "XGBoosterCreate");
  }
  ~Booster() {
    if (handle_ != nullptr) XGBoosterFree(handle_);
  }
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;

  void Set(const std::string& name, const std::string& value) {
    Check(XGBoosterSetParam(handle_, name.c_str(), value.c_str()), "XGBoosterSetParam(" + name + ")");
  }
  void Set(const std::string& name, double value) { Set(name, NumberText(value)); }
  void SetInteger(const std::string& name, std::int64_t value) { Set(name, std::to_string(value)); }

  // One round with the objective's own gradients.
  void UpdateOneIter(int round, const DMatrix& train) {
    Check(XGBoosterUpdateOneIter(handle_, round, train.get()), "XGBoosterUpdateOneIter");
  }
  // One round fitted to the given gradients and hessians (rows x groups, row-major). The C API
  // takes non-const pointers but only copies from them.
  void BoostOneIter(const DMatrix& train, std::span<const float> gradients, std::span<const float> hessians) {
    Check(XGBoosterBoostOneIter(handle_, train.get(), const_cast<float*>(gradients.data()),
                                const_cast<float*>(hessians.data()), gradients.size()),
          "XGBoosterBoostOneIter");
  }

  // In-place prediction (no DMatrix) of the transformed output: rows x `groups` floats.
  std::vector<float> PredictDense(const Matrix& x, std::size_t groups) const {
    QuietThisThread();
    static constexpr const char* kConfig =
        R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": true,)"
        R"( "cache_id": 0, "missing": NaN})";
    const bst_ulong* shape = nullptr;
    bst_ulong dims = 0;
    const float* result = nullptr;
    Check(XGBoosterPredictFromDense(handle_, ArrayInterface(x).c_str(), kConfig, nullptr, &shape, &dims, &result),
          "XGBoosterPredictFromDense");
    if (dims != 2 || shape[0] != x.rows || shape[1] != groups) {
      Fail(ErrorCode::kInternal, "XGBoost returned predictions of an unexpected shape");
    }
    return {result, result + x.rows * groups};
  }

  // Total gain per feature index ("f<index>" in XGBoost's default feature names).
  std::vector<double> TotalGain(std::size_t features) const {
    QuietThisThread();
    bst_ulong count = 0;
    const char** names = nullptr;
    bst_ulong dims = 0;
    const bst_ulong* shape = nullptr;
    const float* scores = nullptr;
    Check(
        XGBoosterFeatureScore(handle_, R"({"importance_type": "total_gain"})", &count, &names, &dims, &shape, &scores),
        "XGBoosterFeatureScore");
    std::vector<double> gain(features, 0.0);
    // A tree booster gives one score per used feature; should a version give one per output
    // group as well (rows x groups), the groups are summed.
    std::size_t per_feature = dims == 2 ? shape[1] : 1;
    for (bst_ulong i = 0; i < count; ++i) {
      std::string_view name = names[i];
      std::size_t index = 0;
      if (name.size() < 2 || name[0] != 'f' ||
          std::from_chars(name.data() + 1, name.data() + name.size(), index).ec != std::errc() || index >= features) {
        Fail(ErrorCode::kInternal, "XGBoost reported importance for an unknown feature '" + std::string(name) + "'");
      }
      for (std::size_t g = 0; g < per_feature; ++g) gain[index] += scores[i * per_feature + g];
    }
    return gain;
  }

  // Appends the model in XGBoost's UBJSON format to `out`.
  void AppendUbj(std::string& out) const {
    bst_ulong length = 0;
    const char* bytes = nullptr;
    Check(XGBoosterSaveModelToBuffer(handle_, R"({"format": "ubj"})", &length, &bytes), "XGBoosterSaveModelToBuffer");
    out.append(bytes, length);
  }
  void LoadUbj(std::string_view bytes) {
    Check(XGBoosterLoadModelFromBuffer(handle_, bytes.data(), bytes.size()), "XGBoosterLoadModelFromBuffer");
  }
  std::size_t Features() const {
    bst_ulong features = 0;
    Check(XGBoosterGetNumFeature(handle_, &features), "XGBoosterGetNumFeature");
    return features;
  }

  // Applies the parameters set so far now rather than at the next call. XGBoost configures
  // lazily; doing it before the booster is shared means concurrent predictions never race to
  // configure it. (Saving the configuration is the C API call that configures and nothing more.)
  void Configure() {
    bst_ulong length = 0;
    const char* config = nullptr;
    Check(XGBoosterSaveJsonConfig(handle_, &length, &config), "XGBoosterSaveJsonConfig");
  }

 private:
  BoosterHandle handle_ = nullptr;
};

// What both algorithms share: checking the training data, building the booster, prediction,
// importance and the saved format. Subclasses choose the parameters and the training loop.
// Follows the Model contract: Fit/Load once, then Predict is safe for concurrent use.
class TreeEnsemble : public Model {
 public:
  TreeEnsemble(std::string_view algorithm, const ModelSpec& spec)
      : algorithm_(algorithm), spec_(spec), params_(ResolveParams(FindAlgorithm(algorithm), spec.params)) {
    if (IsClassification(spec.task) && spec.classes < 2) {
      Fail(ErrorCode::kValidation,
           std::string(algorithm) + " needs at least 2 classes (got " + std::to_string(spec.classes) + ")");
    }
    if (spec.task == Task::kBinary && spec.classes != 2) {
      Fail(ErrorCode::kValidation, "a binary task has exactly 2 classes (got " + std::to_string(spec.classes) + ")");
    }
  }

  void Fit(const Matrix& x, std::span<const double> y, const TrainContext& context) final {
    CheckTrainingData(x, y);
    int threads = std::max(1, context.threads);
    auto bins = HistogramBins();
    auto train = bins ? std::make_unique<DMatrix>(x, y, threads, DMatrix::Binned{*bins})
                      : std::make_unique<DMatrix>(x, y, threads);
    auto booster = std::make_unique<Booster>(*train);
    booster->Set("verbosity", "0");
    booster->SetInteger("nthread", threads);
    // XGBoost's seed is a signed integer; larger seeds are folded into its range.
    booster->SetInteger("seed", static_cast<std::int64_t>(context.seed % (std::uint64_t{1} << 31)));
    booster->Set("booster", "gbtree");
    booster->Set("tree_method", "hist");
    booster->Set("objective", Objective());
    if (spec_.task == Task::kMulticlass) booster->SetInteger("num_class", static_cast<std::int64_t>(spec_.classes));
    Train(*booster, *train, x, y, context);
    booster->SetInteger("nthread", std::max(1, spec_.threads));
    booster->Configure();
    features_ = x.cols;
    booster_ = std::move(booster);
  }

  Predictions Predict(const Matrix& x) const final {
    if (!booster_) Fail(ErrorCode::kConflict, algorithm_ + " model has not been trained or loaded");
    if (x.cols != features_) {
      Fail(ErrorCode::kValidation, "the model was trained on " + std::to_string(features_) +
                                       " features but the rows to predict have " + std::to_string(x.cols));
    }
    if (x.values.size() != x.rows * x.cols) Fail(ErrorCode::kInternal, "feature matrix size does not match its shape");
    Predictions out;
    if (x.rows == 0) {
      out.classes = IsClassification(spec_.task) ? spec_.classes : 0;
      return out;
    }
    std::size_t groups = spec_.task == Task::kMulticlass ? spec_.classes : 1;
    auto raw = booster_->PredictDense(x, groups);
    out.values.resize(x.rows);
    switch (spec_.task) {
      case Task::kBinary:
        out.classes = 2;
        out.probabilities.resize(x.rows * 2);
        for (std::size_t r = 0; r < x.rows; ++r) {
          double p = raw[r];
          out.probabilities[r * 2] = 1.0 - p;
          out.probabilities[r * 2 + 1] = p;
          out.values[r] = p > 1.0 - p ? 1.0 : 0.0;
        }
        break;
      case Task::kMulticlass:
        out.classes = groups;
        out.probabilities.assign(raw.begin(), raw.end());
        for (std::size_t r = 0; r < x.rows; ++r) {
          auto row = out.probabilities.begin() + static_cast<std::ptrdiff_t>(r * groups);
          out.values[r] = static_cast<double>(std::max_element(row, row + static_cast<std::ptrdiff_t>(groups)) - row);
        }
        break;
      default: out.values.assign(raw.begin(), raw.end()); break;
    }
    return out;
  }

  std::vector<double> FeatureImportance() const final {
    if (!booster_) return {};
    auto gain = booster_->TotalGain(features_);
    double total = 0;
    for (double g : gain) total += g;
    // A model without a single split (e.g. constant labels) has no importance to report.
    if (!(total > 0)) return {};
    for (double& g : gain) g /= total;
    return gain;
  }

  // The bytes are one line of JSON, what Load needs to check that the model fits the spec and to
  // shape predictions, then the booster as XGBoost's own UBJSON model (which keeps every float
  // exactly). The booster is appended raw rather than embedded: a deep forest saves to hundreds
  // of megabytes, which should not be copied more than once.
  std::string Save() const final {
    if (!booster_) Fail(ErrorCode::kConflict, algorithm_ + " model has not been trained or loaded");
    nlohmann::json header = {{"format", kSavedFormat},       {"version", kSavedVersion}, {"algorithm", algorithm_},
                             {"task", TaskName(spec_.task)}, {"classes", spec_.classes}, {"features", features_}};
    std::string bytes = header.dump() + "\n";
    booster_->AppendUbj(bytes);
    return bytes;
  }

  void Load(std::string_view bytes) final {
    auto newline = bytes.find('\n');
    std::string format;
    int version = 0;
    std::string algorithm;
    std::string task;
    std::size_t classes = 0;
    std::size_t features = 0;
    try {
      auto header = nlohmann::json::parse(bytes.substr(0, newline));
      format = header.at("format").get<std::string>();
      version = header.at("version").get<int>();
      algorithm = header.at("algorithm").get<std::string>();
      task = header.at("task").get<std::string>();
      classes = header.at("classes").get<std::size_t>();
      features = header.at("features").get<std::size_t>();
    } catch (const nlohmann::json::exception&) {
      format.clear();
    }
    if (newline == std::string_view::npos || format != kSavedFormat) {
      Fail(ErrorCode::kInvalidArgument, "the bytes are not a saved " + algorithm_ + " model");
    }
    if (version != kSavedVersion) {
      Fail(ErrorCode::kInvalidArgument, "the saved model has format version " + std::to_string(version) +
                                            "; this build reads version " + std::to_string(kSavedVersion));
    }
    if (algorithm != algorithm_ || task != TaskName(spec_.task) || classes != spec_.classes) {
      Fail(ErrorCode::kValidation, "the saved model is a " + algorithm + " " + task + " model with " +
                                       std::to_string(classes) + " classes; it cannot be loaded as a " + algorithm_ +
                                       " " + std::string(TaskName(spec_.task)) + " model with " +
                                       std::to_string(spec_.classes) + " classes");
    }
    auto booster = std::make_unique<Booster>();
    booster->LoadUbj(bytes.substr(newline + 1));
    if (booster->Features() != features) {
      Fail(ErrorCode::kInvalidArgument, "the saved model's booster does not match its header");
    }
    booster->Set("verbosity", "0");
    booster->SetInteger("nthread", std::max(1, spec_.threads));
    booster->Configure();
    features_ = features;
    booster_ = std::move(booster);
  }

 protected:
  // The max_bin of a model grown by the hist tree method, which can train on binned rows; none
  // for the exact method, which reads the values.
  virtual std::optional<int> HistogramBins() const = 0;

  // Adds the algorithm's parameters to `booster` and trains it on `train`, reporting progress.
  virtual void Train(Booster& booster, const DMatrix& train, const Matrix& x, std::span<const double> y,
                     const TrainContext& context) = 0;

  const ModelSpec& spec() const { return spec_; }
  const nlohmann::json& params() const { return params_; }

 private:
  std::string Objective() const {
    switch (spec_.task) {
      case Task::kBinary: return "binary:logistic";
      case Task::kMulticlass: return "multi:softprob";
      default: return "reg:squarederror";
    }
  }

  void CheckTrainingData(const Matrix& x, std::span<const double> y) const {
    if (booster_) Fail(ErrorCode::kConflict, algorithm_ + " model is already trained");
    if (x.rows == 0 || x.cols == 0) Fail(ErrorCode::kValidation, "training needs at least one row and one feature");
    if (x.values.size() != x.rows * x.cols) Fail(ErrorCode::kInternal, "feature matrix size does not match its shape");
    if (y.size() != x.rows) {
      Fail(ErrorCode::kValidation,
           "got " + std::to_string(y.size()) + " labels for " + std::to_string(x.rows) + " training rows");
    }
    for (double label : y) {
      if (IsClassification(spec_.task)) {
        if (!(label >= 0 && label < static_cast<double>(spec_.classes) && std::floor(label) == label)) {
          Fail(ErrorCode::kValidation, "class labels must be class indexes 0 to " + std::to_string(spec_.classes - 1) +
                                           " (got " + NumberText(label) + ")");
        }
      } else if (!std::isfinite(label)) {
        Fail(ErrorCode::kValidation, "regression targets must be finite numbers; remove or impute missing targets");
      }
    }
  }

  std::string algorithm_;
  ModelSpec spec_;
  nlohmann::json params_;
  std::size_t features_ = 0;
  std::unique_ptr<Booster> booster_;
};

// Gradient boosting: XGBoost's own rounds, one XGBoosterUpdateOneIter each, with a progress
// report (and so a chance to cancel) after every round. Thread contract as TreeEnsemble.
class GradientBoosting final : public TreeEnsemble {
 public:
  explicit GradientBoosting(const ModelSpec& spec) : TreeEnsemble(kGradientBoosting, spec) {}

 protected:
  std::optional<int> HistogramBins() const override { return params().at("max_bin").get<int>(); }

  void Train(Booster& booster, const DMatrix& train, const Matrix& /*x*/, std::span<const double> y,
             const TrainContext& context) override {
    const auto& p = params();
    for (const char* name :
         {"learning_rate", "min_child_weight", "subsample", "colsample_bytree", "reg_lambda", "reg_alpha", "gamma"}) {
      booster.Set(name, p.at(name).get<double>());
    }
    booster.SetInteger("max_depth", p.at("max_depth").get<std::int64_t>());
    booster.SetInteger("max_bin", p.at("max_bin").get<std::int64_t>());
    // XGBoost 1.7 starts every model at 0.5; a regression starts at the mean target instead (as
    // XGBoost 2 and scikit-learn do), so the first rounds are not spent on the offset.
    if (spec().task == Task::kRegression) booster.Set("base_score", MeanAsFloat(y));
    int rounds = p.at("n_estimators").get<int>();
    for (int round = 0; round < rounds; ++round) {
      booster.UpdateOneIter(round, train);
      context.Report(static_cast<double>(round + 1) / rounds, "boosting");
    }
  }
};

// Random forest in XGBoost's random-forest sense: every tree is fitted to the gradients at the
// same starting point (the base score), on a row subsample and a per-split feature subsample, and
// the forest predicts with the mean of its trees.
//
// XGBoost's own forest mode (num_parallel_tree = N, one round, learning_rate 1) grows all N trees
// inside one call, which cannot report progress or stop early: 100 deep trees on 200k rows take
// tens of seconds. So the forest is grown one tree per round instead: every round is
// XGBoosterBoostOneIter with the gradients the objective has at the base score (computed once
// below; XGBoost offers no call that returns them), and learning_rate = 1 / N makes each tree
// count 1/N. That is the same model XGBoost's forest mode builds (its N parallel trees also all
// start from the base score and each is scaled by learning_rate / N), held in one booster, so
// prediction, importance and saving need nothing special, and cancellation waits for one tree.
//
// Hessians are scaled to 1 per row and L2 regularisation is off, so a leaf's value is the mean
// of its rows' (scaled) gradient and min_child_weight counts rows, like scikit-learn's
// min_samples_leaf. A classifier's leaf then moves the margin in proportion to its share of each
// class, so the predicted class is the one with the largest mean class share over the trees,
// scikit-learn's rule; the probabilities are the sigmoid / softmax of that mean margin, less
// extreme than scikit-learn's averaged shares. Thread contract as TreeEnsemble.
class RandomForest final : public TreeEnsemble {
 public:
  explicit RandomForest(const ModelSpec& spec) : TreeEnsemble(kRandomForest, spec) {}

 protected:
  std::optional<int> HistogramBins() const override {
    if (params().at("tree_method").get<std::string>() != "hist") return std::nullopt;
    return params().at("max_bin").get<int>();
  }

  void Train(Booster& booster, const DMatrix& train, const Matrix& x, std::span<const double> y,
             const TrainContext& context) override {
    const auto& p = params();
    int trees = p.at("n_estimators").get<int>();
    double features_fraction = p.at("colsample_bynode").get<double>();
    if (features_fraction == 0) {
      // max(1, floor(sqrt(features))) per split for classification, scikit-learn's default;
      // max(1, floor(features / 3)) for regression, Breiman's and R randomForest's, which
      // beats scikit-learn's "all features" on the sample data (diabetes R^2 0.27 vs 0.25).
      // XGBoost truncates fraction * features, so the fraction aims at the middle of the count.
      auto columns = static_cast<double>(x.cols);
      double wanted = IsClassification(spec().task) ? std::floor(std::sqrt(columns)) : std::floor(columns / 3);
      features_fraction = std::min(1.0, (std::max(1.0, wanted) + 0.5) / columns);
    }
    booster.Set("learning_rate", 1.0 / trees);
    booster.SetInteger("max_depth", p.at("max_depth").get<std::int64_t>());
    booster.Set("min_child_weight", p.at("min_child_weight").get<double>());
    booster.Set("subsample", p.at("subsample").get<double>());
    booster.Set("colsample_bynode", features_fraction);
    auto method = p.at("tree_method").get<std::string>();
    booster.Set("tree_method", method);
    if (method == "hist") booster.SetInteger("max_bin", p.at("max_bin").get<std::int64_t>());
    booster.Set("reg_lambda", 0.0);

    // Gradients and hessians of the objective at the base score, scaled so each hessian is 1.
    std::vector<float> gradients;
    std::vector<float> hessians;
    switch (spec().task) {
      case Task::kBinary:
        // logistic loss at p = sigmoid(0) = 0.5: g = 0.5 - y, h = 0.25
        booster.Set("base_score", 0.5);
        for (double label : y) gradients.push_back(static_cast<float>((0.5 - label) / 0.25));
        break;
      case Task::kMulticlass: {
        // softmax loss at equal margins, p = 1/K: g_k = p - [y = k], h = 2 p (1 - p) (XGBoost's)
        booster.Set("base_score", 0.5);
        double k = static_cast<double>(spec().classes);
        double share = 1.0 / k;
        double hessian = 2.0 * share * (1.0 - share);
        for (double label : y) {
          for (std::size_t c = 0; c < spec().classes; ++c) {
            gradients.push_back(static_cast<float>((share - (static_cast<double>(c) == label ? 1.0 : 0.0)) / hessian));
          }
        }
        break;
      }
      default: {
        // squared error at the mean: g = mean - y, h = 1
        double mean = MeanAsFloat(y);
        booster.Set("base_score", mean);
        for (double label : y) gradients.push_back(static_cast<float>(mean - label));
        break;
      }
    }
    hessians.assign(gradients.size(), 1.0F);
    for (int tree = 0; tree < trees; ++tree) {
      booster.BoostOneIter(train, gradients, hessians);
      context.Report(static_cast<double>(tree + 1) / trees, "growing trees");
    }
  }
};

// XGBoost's defaults except a learning rate of 0.1 (its own is 0.3) and 0.8 row sampling, which
// beats full sampling on the sample datasets (and scikit-learn's HistGradientBoosting on iris,
// wine, diabetes and digits; breast_cancer is one or two test rows short). Feature sampling
// stays off: it lost ~0.03 R^2 on the benchmark's regression, whose target has interactions.
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
      {"subsample", Type::kNumber, 0.05, 1, 0.8, {}, "Fraction of rows sampled (without replacement) for each tree."},
      {"colsample_bytree", Type::kNumber, 0.05, 1, 1, {}, "Fraction of features sampled for each tree."},
      {"reg_lambda", Type::kNumber, 0, 10000, 1, {}, "L2 regularisation of leaf values."},
      {"reg_alpha", Type::kNumber, 0, 10000, 0, {}, "L1 regularisation of leaf values."},
      {"gamma", Type::kNumber, 0, 10000, 0, {}, "Minimum loss reduction a split must bring (min_split_loss)."},
      {"max_bin", Type::kInteger, 2, 1024, 256, {}, "Histogram bins per feature; fewer is faster and coarser."},
  };
}

// Defaults follow scikit-learn's forest where XGBoost can (sampled rows, features per split).
// The exact tree method is the default: forests want deep trees, and XGBoost 1.7's hist method
// keeps a gradient histogram per node while it grows a tree (max_bin x features x 16 bytes), so
// a depth-16 regression tree on 200k rows x 20 features took 3.9 GB and 8-23 s per tree, where
// exact took 130 MB and 0.5 s (it scans the presorted columns once per level, whatever the node
// count) and splits at every distinct value like scikit-learn. Trees stop at depth 16 rather
// than growing until pure: the sample datasets score the same at depth 30, and on 200k rows a
// depth-20 tree already saves to ~4.5 MB (the whole forest is kept in the model).
std::vector<ParamSpec> RandomForestParams() {
  using Type = ParamSpec::Type;
  return {
      {"n_estimators", Type::kInteger, 1, 5000, 100, {}, "Number of trees in the forest."},
      {"max_depth", Type::kInteger, 1, 30, 16, {}, "Maximum depth of each tree (deeper trees make larger models)."},
      {"min_child_weight", Type::kNumber, 1, 1e6, 1, {}, "Fewest training rows a leaf may hold."},
      {"subsample",
       Type::kNumber,
       0.05,
       1,
       0.632,
       {},
       "Fraction of rows each tree sees, drawn without replacement (0.632 is a bootstrap sample's share)."},
      {"colsample_bynode",
       Type::kNumber,
       0,
       1,
       0,
       {},
       "Fraction of features tried at each split; 0 means sqrt(features) for classification, a third for regression."},
      {"tree_method",
       Type::kChoice,
       0,
       0,
       "exact",
       {"exact", "hist"},
       "exact splits at every distinct value; hist bins features first (faster on shallow trees, memory grows with "
       "depth)."},
      {"max_bin", Type::kInteger, 2, 1024, 256, {}, "Histogram bins per feature with tree_method hist."},
  };
}

}  // namespace

std::vector<AlgorithmSpec> TreeAlgorithms() {
  std::vector<Task> tasks = {Task::kBinary, Task::kMulticlass, Task::kRegression};
  return {
      {std::string(kGradientBoosting), "Gradient-boosted trees", "XGBoost", tasks, GradientBoostingParams(),
       [](const ModelSpec& spec) -> std::unique_ptr<Model> { return std::make_unique<GradientBoosting>(spec); }},
      {std::string(kRandomForest), "Random forest", "XGBoost", tasks, RandomForestParams(),
       [](const ModelSpec& spec) -> std::unique_ptr<Model> { return std::make_unique<RandomForest>(spec); }},
  };
}

}  // namespace playground::ml::detail
