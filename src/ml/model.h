// The ML engine's contract: a dense feature matrix, the tasks we learn, the Model interface every
// algorithm implements, and the algorithm registry whose parameter declarations drive validation,
// the OpenAPI schema, the README table and the web UI's forms.
//
// Labels are doubles: the class index 0..classes-1 for classification, the value for regression,
// ignored for clustering. Missing feature values are NaN; algorithms that cannot take NaN expect
// the preprocessing pipeline to have imputed them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace playground::ml {

// Dense row-major features. Thread-compatible.
struct Matrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<float> values;  // rows * cols, row-major; NaN = missing

  Matrix() = default;
  Matrix(std::size_t r, std::size_t c) : rows(r), cols(c), values(r * c, 0.0F) {}
  float& at(std::size_t r, std::size_t c) { return values[r * cols + c]; }
  float at(std::size_t r, std::size_t c) const { return values[r * cols + c]; }
  std::span<const float> Row(std::size_t r) const { return {values.data() + r * cols, cols}; }
};

enum class Task { kBinary, kMulticlass, kRegression, kClustering };
std::string_view TaskName(Task task);
// Throws core::Error(kValidation) for an unknown name.
Task ParseTask(std::string_view name);
inline bool IsClassification(Task t) { return t == Task::kBinary || t == Task::kMulticlass; }

// What a training run is told and how it reports back. `progress` is called from the training
// thread with a fraction in [0, 1]; when it returns false the run stops and Fit throws
// core::Error(kConflict, "cancelled").
struct TrainContext {
  int threads = 1;
  std::uint64_t seed = 0;
  std::function<bool(double fraction, std::string_view stage)> progress;

  // Reports and throws when cancelled.
  void Report(double fraction, std::string_view stage) const;
};

// Output of Predict. `values` holds one entry per row: the class index (classification), the
// predicted value (regression) or the cluster index (clustering). `probabilities` is rows x
// classes, row-major, for classifiers; empty otherwise.
struct Predictions {
  std::vector<double> values;
  std::vector<double> probabilities;
  std::size_t classes = 0;
};

// One trained (or trainable) model. Fit is called once. After Fit or Load the model is
// immutable and Predict is safe for concurrent use.
class Model {
 public:
  virtual ~Model() = default;
  Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  virtual void Fit(const Matrix& x, std::span<const double> y, const TrainContext& context) = 0;
  virtual Predictions Predict(const Matrix& x) const = 0;
  // One non-negative value per feature, summing to 1, or empty when the model has none.
  virtual std::vector<double> FeatureImportance() const { return {}; }
  // Opaque bytes that Load turns back into an identical model (same predictions, bit for bit).
  virtual std::string Save() const = 0;
  virtual void Load(std::string_view bytes) = 0;
};

// One declared parameter of an algorithm.
struct ParamSpec {
  enum class Type { kInteger, kNumber, kBoolean, kChoice };
  std::string name;
  Type type = Type::kNumber;
  double min = 0;  // inclusive bounds for kInteger / kNumber
  double max = 0;
  nlohmann::json default_value;
  std::vector<std::string> choices;  // for kChoice
  std::string help;
};

// Everything a Model is built from. `params` has been resolved against the declarations (every
// declared parameter present, in range).
struct ModelSpec {
  Task task = Task::kBinary;
  std::size_t classes = 0;  // classification only
  nlohmann::json params;
  int threads = 1;  // threads the model may use at prediction time
};

struct AlgorithmSpec {
  std::string name;     // e.g. "random_forest"
  std::string title;    // e.g. "Random forest"
  std::string library;  // what implements it, e.g. "liblinear"
  std::vector<Task> tasks;
  std::vector<ParamSpec> params;
  std::function<std::unique_ptr<Model>(const ModelSpec&)> make;
};

// The registry, in a stable order.
const std::vector<AlgorithmSpec>& Algorithms();
// Throws core::Error(kValidation) naming the known algorithms when `name` is unknown.
const AlgorithmSpec& FindAlgorithm(std::string_view name);
// Fills defaults and checks types and ranges. Throws core::Error(kValidation) naming the
// parameter and what it accepts; unknown parameters are refused too.
nlohmann::json ResolveParams(const AlgorithmSpec& algorithm, const nlohmann::json& given);
// The declarations as JSON (for the API and the UI).
nlohmann::json DescribeAlgorithm(const AlgorithmSpec& algorithm);
// The algorithms and their parameters as Markdown tables (the README's, printed by
// `playground algorithms`).
std::string AlgorithmsMarkdown();
// Builds an untrained model; throws core::Error(kValidation) when the task is not supported.
std::unique_ptr<Model> MakeModel(std::string_view algorithm, const ModelSpec& spec);

}  // namespace playground::ml
