// Linear classifiers and a linear regressor trained by liblinear 2.3 (its C API): logistic
// regression with an L1 or L2 penalty, a linear support vector classifier like scikit-learn's
// LinearSVC, and linear support vector regression like LinearSVR.
//
// Where these models differ from calling liblinear on the raw data, and why:
// - Features are standardised inside the model (training mean and population standard deviation,
//   kept in the saved bytes and applied again at prediction). liblinear's solvers converge slowly
//   or stop early on unscaled data, and with standardised inputs C means the same whatever the
//   units. A scaling step in the preprocessing pipeline is still welcome; standardising
//   standardised data changes nothing.
// - liblinear penalises the intercept (it is the weight of a constant feature of value 1; 2.3 has
//   no switch to exempt it). On centred features the best intercept is small, so the penalty
//   changes little; for regression the target is centred too (its mean is kept and added back).
// - Multiclass classification is liblinear's one-vs-rest; scikit-learn's LogisticRegression
//   defaults to a multinomial model instead.
// - The SVM's Predictions::probabilities are NOT calibrated probabilities: liblinear has none for
//   SVMs, so they are the sigmoid (binary) or softmax (multiclass) of the decision values. They
//   order rows like the decision values do, which is what ranking metrics such as ROC AUC need,
//   but they should not be read as probabilities. Logistic regression's come from liblinear's
//   predict_probability.
// - liblinear 2.3 fixes its iteration limits inside the solvers (1000 passes, the same as
//   scikit-learn's default max_iter) and its API takes none, so no max_iter is declared.
// - liblinear cannot be interrupted, so progress is reported (and cancellation honoured) only
//   before and after its solve.
// - liblinear's save_model only writes files, so the fitted weights are serialised here (CBOR,
//   which keeps doubles exact: a loaded model predicts bit for bit what the saved one did).
#include <linear.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "ml/algorithms.h"

namespace playground::ml::detail {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr std::string_view kFormat = "playground.liblinear.v1";
// The value of the constant feature whose weight is the intercept.
constexpr double kBiasFeature = 1.0;
constexpr double kLargest = 1e6;

enum class Kind { kLogistic, kSvm, kSvr };

std::string_view AlgorithmName(Kind kind) {
  switch (kind) {
    case Kind::kLogistic: return "logistic_regression";
    case Kind::kSvm: return "linear_svm";
    case Kind::kSvr: return "linear_svr";
  }
  return "logistic_regression";
}

struct ModelDeleter {
  void operator()(::model* m) const { free_and_destroy_model(&m); }
};
using OwnedModel = std::unique_ptr<::model, ModelDeleter>;

void DiscardOutput(const char* /*message*/) {}

// liblinear shuffles with the C library's rand(), whose state is process-wide, and has no way to
// take a generator. To make a run depend only on TrainContext::seed, the seeding and the whole
// solve happen under one process-wide lock: while a run holds it no other liblinear run can move
// the generator (nothing else in this program calls rand(); it uses <random> and OpenSSL). The
// price is that liblinear trainings in one process run one at a time; they are fast linear solves.
// The print hook is process-wide as well, so it is set under the same lock.
OwnedModel TrainSeeded(const ::problem& problem, const ::parameter& parameter, std::uint64_t seed) {
  static std::mutex rand_mutex;
  const std::lock_guard lock(rand_mutex);
  set_print_string_function(&DiscardOutput);
  // Safe: serialised by rand_mutex, see above.
  std::srand(static_cast<unsigned>(seed ^ (seed >> 32U)));
  return OwnedModel(::train(&problem, &parameter));
}

[[noreturn]] void RefuseMissing(std::string_view algorithm, std::size_t row, std::size_t col) {
  Fail(ErrorCode::kValidation, std::string(algorithm) + " cannot use missing or infinite feature values (row " +
                                   std::to_string(row + 1) + ", feature " + std::to_string(col + 1) +
                                   "); add an imputation step to the preprocessing pipeline");
}

// One liblinear model with the standardisation it was trained on.
// Thread-safety: Fit and Load require external synchronization; afterwards the model is
// immutable and Predict, FeatureImportance and Save are safe for concurrent use (liblinear's
// predict functions only read the model).
class LiblinearModel final : public Model {
 public:
  LiblinearModel(Kind kind, const ModelSpec& spec) : kind_(kind), task_(spec.task), classes_(spec.classes) {
    const std::string name(AlgorithmName(kind));
    const auto params = ResolveParams(FindAlgorithm(name), spec.params);
    c_ = params.at("C").get<double>();
    tol_ = params.at("tol").get<double>();
    switch (kind) {
      case Kind::kLogistic:
        solver_ = params.at("penalty") == "l1" ? L1R_LR : L2R_LR;
        balanced_ = params.at("class_weight") == "balanced";
        break;
      case Kind::kSvm:
        solver_ = L2R_L2LOSS_SVC_DUAL;
        balanced_ = params.at("class_weight") == "balanced";
        break;
      case Kind::kSvr:
        solver_ = params.at("loss") == "squared_epsilon_insensitive" ? L2R_L2LOSS_SVR_DUAL : L2R_L1LOSS_SVR_DUAL;
        epsilon_ = params.at("epsilon").get<double>();
        break;
    }
    if (IsClassification(task_) && classes_ < 2) {
      Fail(ErrorCode::kValidation, name + " needs at least two classes");
    }
  }

  void Fit(const Matrix& x, std::span<const double> y, const TrainContext& context) override {
    const std::string name(AlgorithmName(kind_));
    if (x.rows == 0 || x.cols == 0) Fail(ErrorCode::kValidation, name + " needs at least one row and one feature");
    if (y.size() != x.rows) {
      Fail(ErrorCode::kValidation,
           name + " got " + std::to_string(y.size()) + " targets for " + std::to_string(x.rows) + " rows");
    }
    if (x.cols >= static_cast<std::size_t>(INT32_MAX) || x.rows >= static_cast<std::size_t>(INT32_MAX)) {
      Fail(ErrorCode::kValidation, name + " takes fewer than 2^31 rows and features");
    }
    Standardise(x);
    std::vector<double> target = Targets(y);

    // liblinear wants sparse rows: (1-based index, value) pairs, the bias feature last, then
    // index -1. All rows share one buffer, reserved up front so the row pointers stay valid.
    std::vector<::feature_node> nodes;
    nodes.reserve(x.rows * (x.cols + 2));
    std::vector<std::size_t> starts;
    starts.reserve(x.rows);
    for (std::size_t r = 0; r < x.rows; ++r) {
      starts.push_back(nodes.size());
      AppendRow(x.Row(r), r, nodes);
    }
    std::vector<::feature_node*> rows;
    rows.reserve(x.rows);
    for (std::size_t start : starts) rows.push_back(nodes.data() + start);

    ::problem problem{};
    problem.l = static_cast<int>(x.rows);
    problem.n = static_cast<int>(x.cols) + 1;  // the bias feature counts
    problem.y = target.data();
    problem.x = rows.data();
    problem.bias = kBiasFeature;

    ::parameter parameter{};
    parameter.solver_type = solver_;
    parameter.eps = tol_;
    parameter.C = c_;
    parameter.p = epsilon_;
    std::vector<int> weight_labels;
    std::vector<double> weights;
    if (balanced_) BalancedWeights(y, weight_labels, weights);
    parameter.nr_weight = static_cast<int>(weights.size());
    parameter.weight_label = weight_labels.data();
    parameter.weight = weights.data();
    if (const char* problem_text = check_parameter(&problem, &parameter)) {
      Fail(ErrorCode::kValidation, name + ": " + problem_text);
    }

    context.Report(0.0, "training " + name + " with liblinear");
    OwnedModel trained = TrainSeeded(problem, parameter, context.seed);
    if (!trained) Fail(ErrorCode::kInternal, "liblinear failed to train " + name);
    nr_class_ = trained->nr_class;
    nr_feature_ = trained->nr_feature;
    const std::size_t size = static_cast<std::size_t>(nr_feature_ + 1) * WeightsPerFeature();
    w_.assign(trained->w, trained->w + size);
    labels_.clear();
    if (IsClassification(task_)) labels_.assign(trained->label, trained->label + nr_class_);
    trained.reset();
    BindView();
    context.Report(1.0, "trained " + name);
  }

  Predictions Predict(const Matrix& x) const override {
    const std::string name(AlgorithmName(kind_));
    if (w_.empty()) Fail(ErrorCode::kConflict, name + " must be trained or loaded before it predicts");
    if (x.cols != mean_.size()) {
      Fail(ErrorCode::kValidation,
           name + " was trained on " + std::to_string(mean_.size()) + " features but got " + std::to_string(x.cols));
    }
    Predictions out;
    out.values.reserve(x.rows);
    if (IsClassification(task_)) {
      out.classes = classes_;
      out.probabilities.assign(x.rows * classes_, 0.0);
    }
    std::vector<::feature_node> nodes;
    nodes.reserve(x.cols + 2);
    std::vector<double> scores(static_cast<std::size_t>(nr_class_));
    for (std::size_t r = 0; r < x.rows; ++r) {
      nodes.clear();
      AppendRow(x.Row(r), r, nodes);
      switch (kind_) {
        case Kind::kSvr: out.values.push_back(::predict(&view_, nodes.data()) + y_offset_); break;
        case Kind::kLogistic: {
          out.values.push_back(::predict_probability(&view_, nodes.data(), scores.data()));
          for (std::size_t k = 0; k < labels_.size(); ++k) {
            out.probabilities[r * classes_ + static_cast<std::size_t>(labels_[k])] = scores[k];
          }
          break;
        }
        case Kind::kSvm: {
          out.values.push_back(::predict_values(&view_, nodes.data(), scores.data()));
          std::span<double> row(out.probabilities.data() + r * classes_, classes_);
          DecisionScores(scores, row);
          break;
        }
      }
    }
    return out;
  }

  // |weight| on the standardised scale, summed over the one-vs-rest classifiers, normalised to
  // sum 1; empty when every weight is zero (a strong L1 penalty can do that).
  std::vector<double> FeatureImportance() const override {
    const std::size_t per = WeightsPerFeature();
    std::vector<double> out(static_cast<std::size_t>(nr_feature_), 0.0);
    double total = 0;
    for (std::size_t j = 0; j < out.size(); ++j) {
      for (std::size_t k = 0; k < per; ++k) out[j] += std::abs(w_[j * per + k]);
      total += out[j];
    }
    if (!(total > 0)) return {};
    for (double& v : out) v /= total;
    return out;
  }

  std::string Save() const override {
    nlohmann::json j = {{"format", kFormat},
                        {"algorithm", AlgorithmName(kind_)},
                        {"task", TaskName(task_)},
                        {"classes", classes_},
                        {"solver", solver_},
                        {"nr_class", nr_class_},
                        {"nr_feature", nr_feature_},
                        {"labels", labels_},
                        {"w", w_},
                        {"mean", mean_},
                        {"scale", scale_},
                        {"y_offset", y_offset_}};
    const auto bytes = nlohmann::json::to_cbor(j);
    return {bytes.begin(), bytes.end()};
  }

  // Validates everything liblinear's predict functions will index with before replacing any
  // state, so a refused Load leaves the model as it was.
  void Load(std::string_view bytes) override {
    const std::string name(AlgorithmName(kind_));
    const auto j = nlohmann::json::from_cbor(bytes.begin(), bytes.end(), true, false);
    if (j.is_discarded() || !j.is_object() || j.value("format", "") != kFormat || j.value("algorithm", "") != name) {
      Fail(ErrorCode::kValidation, "these bytes are not a saved " + name + " model");
    }
    Fitted loaded;
    try {
      loaded.task = ParseTask(j.at("task").get<std::string>());
      loaded.classes = j.at("classes").get<std::size_t>();
      loaded.solver = j.at("solver").get<int>();
      loaded.nr_class = j.at("nr_class").get<int>();
      loaded.nr_feature = j.at("nr_feature").get<int>();
      loaded.labels = j.at("labels").get<std::vector<int>>();
      loaded.w = j.at("w").get<std::vector<double>>();
      loaded.mean = j.at("mean").get<std::vector<double>>();
      loaded.scale = j.at("scale").get<std::vector<double>>();
      loaded.y_offset = j.at("y_offset").get<double>();
    } catch (const nlohmann::json::exception&) {
      Fail(ErrorCode::kValidation, "the saved " + name + " model is corrupt");
    }
    if (!Consistent(loaded)) Fail(ErrorCode::kValidation, "the saved " + name + " model is corrupt");
    task_ = loaded.task;
    classes_ = loaded.classes;
    solver_ = loaded.solver;
    nr_class_ = loaded.nr_class;
    nr_feature_ = loaded.nr_feature;
    labels_ = std::move(loaded.labels);
    w_ = std::move(loaded.w);
    mean_ = std::move(loaded.mean);
    scale_ = std::move(loaded.scale);
    y_offset_ = loaded.y_offset;
    BindView();
  }

 private:
  // Saved state as read by Load, before it is checked.
  struct Fitted {
    Task task = Task::kBinary;
    std::size_t classes = 0;
    int solver = -1;
    int nr_class = 0;
    int nr_feature = 0;
    std::vector<int> labels;
    std::vector<double> w;
    std::vector<double> mean;
    std::vector<double> scale;
    double y_offset = 0;
  };

  // liblinear keeps one weight per feature for regression and binary problems, one per class
  // otherwise (its predict_values reads that many).
  static std::size_t WeightsPerFeature(Task task, int nr_class) {
    return nr_class == 2 || !IsClassification(task) ? 1 : static_cast<std::size_t>(nr_class);
  }
  std::size_t WeightsPerFeature() const { return WeightsPerFeature(task_, nr_class_); }

  // Whether saved state fits this algorithm and has every array the size liblinear will index.
  bool Consistent(const Fitted& f) const {
    const bool classification = IsClassification(f.task);
    bool solver_ok = false;
    switch (kind_) {
      case Kind::kLogistic: solver_ok = classification && (f.solver == L2R_LR || f.solver == L1R_LR); break;
      case Kind::kSvm: solver_ok = classification && f.solver == L2R_L2LOSS_SVC_DUAL; break;
      case Kind::kSvr:
        solver_ok = !classification && (f.solver == L2R_L1LOSS_SVR_DUAL || f.solver == L2R_L2LOSS_SVR_DUAL);
        break;
    }
    // liblinear reports nr_class = 2 for regression and sizes its decision values by it.
    const bool classes_ok = classification ? f.nr_class >= 2 && f.labels.size() == static_cast<std::size_t>(f.nr_class)
                                           : f.nr_class == 2 && f.labels.empty();
    const bool labels_ok = std::all_of(f.labels.begin(), f.labels.end(), [&](int label) {
      return label >= 0 && static_cast<std::size_t>(label) < f.classes;
    });
    const bool sizes_ok = f.nr_feature > 0 && f.mean.size() == static_cast<std::size_t>(f.nr_feature) &&
                          f.scale.size() == f.mean.size() &&
                          f.w.size() == (f.mean.size() + 1) * WeightsPerFeature(f.task, f.nr_class);
    return solver_ok && classes_ok && labels_ok && sizes_ok;
  }

  // Points liblinear's model struct at the weights owned by this object; only the fields that
  // liblinear's predict functions read are set.
  void BindView() {
    view_ = ::model{};
    view_.param.solver_type = solver_;
    view_.nr_class = nr_class_;
    view_.nr_feature = nr_feature_;
    view_.w = w_.data();
    view_.label = labels_.empty() ? nullptr : labels_.data();
    view_.bias = kBiasFeature;
  }

  void Standardise(const Matrix& x) {
    const std::string_view name = AlgorithmName(kind_);
    mean_.assign(x.cols, 0.0);
    scale_.assign(x.cols, 0.0);
    for (std::size_t r = 0; r < x.rows; ++r) {
      for (std::size_t c = 0; c < x.cols; ++c) {
        const float v = x.at(r, c);
        if (!std::isfinite(v)) RefuseMissing(name, r, c);
        mean_[c] += v;
      }
    }
    const auto n = static_cast<double>(x.rows);
    for (double& m : mean_) m /= n;
    for (std::size_t r = 0; r < x.rows; ++r) {
      for (std::size_t c = 0; c < x.cols; ++c) {
        const double d = x.at(r, c) - mean_[c];
        scale_[c] += d * d;
      }
    }
    // A constant feature keeps scale 1 (its standardised value is 0), as scikit-learn's
    // StandardScaler does.
    for (double& s : scale_) s = s > 0 ? std::sqrt(s / n) : 1.0;
  }

  // Class indices for classification (checked against the declared class count) or the centred
  // target for regression.
  std::vector<double> Targets(std::span<const double> y) {
    const std::string name(AlgorithmName(kind_));
    std::vector<double> out(y.begin(), y.end());
    if (!IsClassification(task_)) {
      double sum = 0;
      for (std::size_t i = 0; i < y.size(); ++i) {
        if (!std::isfinite(y[i])) {
          Fail(ErrorCode::kValidation,
               name + " needs a finite target on every row (row " + std::to_string(i + 1) + ")");
        }
        sum += y[i];
      }
      y_offset_ = sum / static_cast<double>(y.size());
      for (double& v : out) v -= y_offset_;
      return out;
    }
    std::vector<bool> seen(classes_, false);
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double label = y[i];
      if (!(label >= 0) || label >= static_cast<double>(classes_) || std::floor(label) != label) {
        Fail(ErrorCode::kValidation, name + " needs class indices from 0 to " + std::to_string(classes_ - 1) +
                                         " (row " + std::to_string(i + 1) + ")");
      }
      seen[static_cast<std::size_t>(label)] = true;
    }
    if (std::count(seen.begin(), seen.end(), true) < 2) {
      Fail(ErrorCode::kValidation, name + " needs training rows from at least two classes");
    }
    return out;
  }

  // Scikit-learn's class_weight="balanced": n / (classes present * rows of the class).
  void BalancedWeights(std::span<const double> y, std::vector<int>& labels, std::vector<double>& weights) const {
    std::vector<std::size_t> counts(classes_, 0);
    for (double label : y) ++counts[static_cast<std::size_t>(label)];
    const auto present = static_cast<double>(std::count_if(counts.begin(), counts.end(), [](auto n) { return n > 0; }));
    for (std::size_t k = 0; k < counts.size(); ++k) {
      if (counts[k] == 0) continue;
      labels.push_back(static_cast<int>(k));
      weights.push_back(static_cast<double>(y.size()) / (present * static_cast<double>(counts[k])));
    }
  }

  void AppendRow(std::span<const float> row, std::size_t r, std::vector<::feature_node>& nodes) const {
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (!std::isfinite(row[c])) RefuseMissing(AlgorithmName(kind_), r, c);
      const double v = (row[c] - mean_[c]) / scale_[c];
      if (v != 0.0) nodes.push_back({static_cast<int>(c) + 1, v});
    }
    nodes.push_back({static_cast<int>(row.size()) + 1, kBiasFeature});
    nodes.push_back({-1, 0.0});
  }

  // Uncalibrated scores from the SVM's decision values (see the file comment).
  void DecisionScores(const std::vector<double>& decision, std::span<double> row) const {
    if (nr_class_ == 2) {
      const double first = 1.0 / (1.0 + std::exp(-decision[0]));
      row[static_cast<std::size_t>(labels_[0])] = first;
      row[static_cast<std::size_t>(labels_[1])] = 1.0 - first;
      return;
    }
    const double top = *std::max_element(decision.begin(), decision.end());
    double total = 0;
    for (std::size_t k = 0; k < labels_.size(); ++k) total += std::exp(decision[k] - top);
    for (std::size_t k = 0; k < labels_.size(); ++k) {
      row[static_cast<std::size_t>(labels_[k])] = std::exp(decision[k] - top) / total;
    }
  }

  Kind kind_;
  Task task_;
  std::size_t classes_;
  int solver_ = L2R_LR;
  double c_ = 1.0;
  double tol_ = 1e-4;
  double epsilon_ = 0.0;
  bool balanced_ = false;
  // Fitted state.
  std::vector<double> mean_;
  std::vector<double> scale_;
  double y_offset_ = 0;
  int nr_class_ = 0;
  int nr_feature_ = 0;
  std::vector<int> labels_;
  std::vector<double> w_;
  ::model view_{};  // non-owning: points into labels_ and w_
};

ParamSpec CostParam() {
  return {"C",
          ParamSpec::Type::kNumber,
          1e-6,
          kLargest,
          1.0,
          {},
          "Inverse regularisation strength on standardised features: larger C fits the training data more closely"};
}

ParamSpec TolParam() {
  return {"tol",
          ParamSpec::Type::kNumber,
          1e-10,
          1,
          1e-4,
          {},
          "liblinear's stopping tolerance (smaller trains longer and more precisely)"};
}

ParamSpec ClassWeightParam() {
  return {"class_weight",
          ParamSpec::Type::kChoice,
          0,
          0,
          "none",
          {"none", "balanced"},
          "balanced weights each class by n / (classes * rows of the class), for imbalanced data"};
}

AlgorithmSpec Spec(Kind kind, std::string title, std::vector<Task> tasks, std::vector<ParamSpec> params) {
  AlgorithmSpec spec;
  spec.name = std::string(AlgorithmName(kind));
  spec.title = std::move(title);
  spec.library = "liblinear";
  spec.tasks = std::move(tasks);
  spec.params = std::move(params);
  spec.make = [kind](const ModelSpec& model) { return std::make_unique<LiblinearModel>(kind, model); };
  return spec;
}

}  // namespace

std::vector<AlgorithmSpec> LiblinearAlgorithms() {
  std::vector<AlgorithmSpec> out;
  out.push_back(Spec(Kind::kLogistic, "Logistic regression", {Task::kBinary, Task::kMulticlass},
                     {{"penalty",
                       ParamSpec::Type::kChoice,
                       0,
                       0,
                       "l2",
                       {"l1", "l2"},
                       "l2 shrinks all weights; l1 sets some to zero (feature selection)"},
                      CostParam(),
                      TolParam(),
                      ClassWeightParam()}));
  out.push_back(Spec(Kind::kSvm, "Linear support vector machine", {Task::kBinary, Task::kMulticlass},
                     {CostParam(), TolParam(), ClassWeightParam()}));
  out.push_back(Spec(Kind::kSvr, "Linear support vector regression", {Task::kRegression},
                     {CostParam(),
                      {"epsilon",
                       ParamSpec::Type::kNumber,
                       0,
                       kLargest,
                       0.0,
                       {},
                       "Errors smaller than epsilon (in target units) cost nothing"},
                      {"loss",
                       ParamSpec::Type::kChoice,
                       0,
                       0,
                       "epsilon_insensitive",
                       {"epsilon_insensitive", "squared_epsilon_insensitive"},
                       "epsilon_insensitive penalises errors beyond epsilon linearly (robust to outliers), "
                       "squared_epsilon_insensitive quadratically"},
                      TolParam()}));
  return out;
}

}  // namespace playground::ml::detail
