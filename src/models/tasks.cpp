#include "models/tasks.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <set>

#include "core/digest.h"
#include "core/error.h"
#include "core/random.h"
#include "data/types.h"
#include "ml/metrics.h"
#include "ml/preprocess.h"
#include "models/predict.h"

namespace playground::models {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;
using core::Fail;
using nlohmann::json;

constexpr std::size_t kMaxNameLength = 200;

[[noreturn]] void Invalid(const std::string& message) { Fail(ErrorCode::kValidation, message); }

const data::ColumnSchema* FindColumn(const data::ColumnarFile& file, const std::string& name) {
  for (const auto& c : file.schema()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

int64_t IntField(const json& request, const char* name, int64_t def, int64_t min, int64_t max) {
  if (!request.contains(name) || request[name].is_null()) return def;
  const json& v = request[name];
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
    Invalid(std::string(name) + ": an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return v.get<int64_t>();
}

std::string StringField(const json& request, const char* name) {
  if (!request.contains(name) || request[name].is_null()) return "";
  if (!request[name].is_string()) Invalid(std::string(name) + ": must be a string");
  return request[name].get<std::string>();
}

// The task a target suggests when the request names none: a number or integer column is a
// regression, anything else classification (binary with two classes).
ml::Task InferTask(const data::ColumnarFile& file, const data::ColumnSchema& column) {
  if (column.type == data::ColumnType::kNumber || column.type == data::ColumnType::kInteger) {
    return ml::Task::kRegression;
  }
  ml::Target t = ml::EncodeTarget(file, column.name, ml::Task::kMulticlass);
  return t.class_names.size() == 2 ? ml::Task::kBinary : ml::Task::kMulticlass;
}

// The row numbers of `rows` split into `folds` folds (a seeded shuffle), each ascending.
std::vector<std::vector<int64_t>> Folds(std::vector<int64_t> rows, int folds, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::shuffle(rows.begin(), rows.end(), rng);
  std::vector<std::vector<int64_t>> out(static_cast<std::size_t>(folds));
  for (std::size_t i = 0; i < rows.size(); ++i) out[i % out.size()].push_back(rows[i]);
  for (auto& f : out) std::sort(f.begin(), f.end());
  return out;
}

std::vector<double> Labels(const ml::Target& target, std::span<const int64_t> rows) {
  std::vector<double> y;
  y.reserve(rows.size());
  for (int64_t r : rows) y.push_back(target.y[static_cast<std::size_t>(r)]);
  return y;
}

// The test report of a task.
json Report(ml::Task task, const ml::Matrix& x, std::span<const double> y, const ml::Predictions& p,
            const std::vector<std::string>& class_names, std::uint64_t seed) {
  switch (task) {
    case ml::Task::kBinary:
    case ml::Task::kMulticlass: return ml::ClassificationReport(y, p, class_names);
    case ml::Task::kRegression: return ml::RegressionReport(y, p.values);
    case ml::Task::kClustering: break;
  }
  return ml::ClusteringReport(x, p.values, kSilhouetteSample, seed);
}

// SHA-256 of the data file and of the rows and target a model learned from.
std::string Fingerprint(const data::ColumnarFile& file, const std::string& target, std::span<const int64_t> rows) {
  core::Sha256Stream s;
  std::ifstream in(file.path(), std::ios::binary);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    s.Update({buf.data(), static_cast<std::size_t>(in.gcount())});
  }
  s.Update(target);
  s.Update({reinterpret_cast<const char*>(rows.data()), rows.size_bytes()});
  return core::Hex(s.Finish());
}

// Runs a fit, turning the engine's cancellation into the job's.
void FitModel(ml::Model& model, const ml::Matrix& x, std::span<const double> y, const ml::TrainContext& train,
              jobs::TaskContext& ctx) {
  try {
    model.Fit(x, y, train);
  } catch (const core::Error&) {
    ctx.cancellation().ThrowIfCancelled();
    throw;
  }
  ctx.cancellation().ThrowIfCancelled();
}

struct Trained {
  ml::Pipeline pipeline;
  std::unique_ptr<ml::Model> model;
};

// Fits the pipeline and the model on `train_rows`; progress goes from `from` to `to`.
Trained Train(const json& p, const data::ColumnarFile& file, const ml::Target& target, ml::Task task,
              std::span<const int64_t> train_rows, jobs::TaskContext& ctx, double from, double to) {
  auto seed = p.at("seed").get<std::uint64_t>();
  const std::string target_column = p.at("target");
  Trained t;
  ml::Matrix x;
  t.pipeline = ml::Pipeline::Fit(p.at("preprocessing"), file, target_column, train_rows, target, task, seed, &x);
  ctx.cancellation().ThrowIfCancelled();
  ml::ModelSpec spec{task, target.class_names.size(), p.at("params"), p.at("threads").get<int>()};
  t.model = ml::MakeModel(p.at("algorithm").get<std::string>(), spec);
  ml::TrainContext train;
  train.threads = spec.threads;
  train.seed = seed;
  train.progress = [&ctx, from, to](double f, std::string_view stage) {
    ctx.Progress(from + (to - from) * f, std::string(stage));
    return !ctx.cancellation().cancelled();
  };
  FitModel(*t.model, x, Labels(target, train_rows), train, ctx);
  return t;
}

// Mean and standard deviation of each leaderboard metric over the folds.
json CrossValidate(const json& p, const data::ColumnarFile& file, const ml::Target& target, ml::Task task,
                   const std::vector<int64_t>& train_rows, jobs::TaskContext& ctx, double from, double to) {
  int folds = p.at("cv_folds");
  auto seed = p.at("seed").get<std::uint64_t>();
  auto parts = Folds(train_rows, folds, seed);
  json per_fold = json::array();
  double step = (to - from) / folds;
  for (int k = 0; k < folds; ++k) {
    std::vector<int64_t> fit_rows;
    for (int j = 0; j < folds; ++j) {
      if (j != k) fit_rows.insert(fit_rows.end(), parts[j].begin(), parts[j].end());
    }
    std::sort(fit_rows.begin(), fit_rows.end());
    ctx.Progress(from + step * k, "cross-validation fold " + std::to_string(k + 1) + " of " + std::to_string(folds));
    Trained t = Train(p, file, target, task, fit_rows, ctx, from + step * k, from + step * (k + 0.9));
    const auto& rows = parts[static_cast<std::size_t>(k)];
    ml::Matrix x = t.pipeline.Transform(file, rows);
    ml::Predictions pred = t.model->Predict(x);
    per_fold.push_back(
        ml::LeaderboardValues(Report(task, x, Labels(target, rows), pred, target.class_names, seed), task));
  }
  json summary = json::object();
  for (const std::string& metric : ml::LeaderboardMetrics(task)) {
    std::vector<double> values;
    for (const json& f : per_fold) {
      if (f.contains(metric) && f[metric].is_number()) values.push_back(f[metric].get<double>());
    }
    if (values.empty()) {
      summary[metric] = nullptr;
      continue;
    }
    double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    double var = 0;
    for (double v : values) var += (v - mean) * (v - mean);
    summary[metric] = {{"mean", mean}, {"std", std::sqrt(var / static_cast<double>(values.size()))}};
  }
  return {{"folds", folds}, {"metrics", summary}, {"per_fold", per_fold}};
}

void RunTrainModel(ModelTaskDeps& deps, jobs::TaskContext& ctx) {
  const json& p = ctx.params();
  auto start = std::chrono::steady_clock::now();
  const std::string dataset_id = p.at("dataset_id");
  auto dataset = deps.datasets.Find(dataset_id);
  if (!dataset) Fail(ErrorCode::kNotFound, "dataset " + dataset_id + " no longer exists");
  auto file = deps.datasets.Open(*dataset);
  ml::Task task = ml::ParseTask(p.at("task").get<std::string>());
  auto seed = p.at("seed").get<std::uint64_t>();
  const std::string target_column = p.at("target");
  ctx.Progress(0.02, "reading the target");
  ml::Target target = ml::EncodeTarget(*file, target_column, task);

  std::vector<int64_t> rows;
  rows.reserve(static_cast<std::size_t>(file->rows()));
  std::size_t m = 0;
  for (int64_t r = 0; r < file->rows(); ++r) {
    if (m < target.missing_rows.size() && target.missing_rows[m] == r) {
      ++m;
      continue;
    }
    rows.push_back(r);
  }
  const json& spec = p.at("preprocessing");
  ml::Split split = ml::MakeSplit(spec.at("split"), *file, rows, target, task);
  ctx.Progress(0.05, "fitting the preprocessing");

  const bool cv = p.at("cv_folds").get<int>() > 0;
  const double fit_end = cv ? 0.5 : 0.85;
  auto fit_start = std::chrono::steady_clock::now();
  Trained trained = Train(p, *file, target, task, split.train, ctx, 0.05, fit_end);
  double fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - fit_start).count();

  ctx.Progress(fit_end, "evaluating on the test split");
  ml::Matrix x_test = trained.pipeline.Transform(*file, split.test);
  ml::Predictions predicted = trained.model->Predict(x_test);
  json report = Report(task, x_test, Labels(target, split.test), predicted, target.class_names, seed);
  auto importance = trained.model->FeatureImportance();
  auto names = trained.pipeline.FeatureNames();
  if (!importance.empty()) {
    json ranked = json::array();
    std::vector<std::size_t> order(importance.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return importance[a] > importance[b]; });
    for (std::size_t i : order) ranked.push_back({{"feature", names.at(i)}, {"importance", importance[i]}});
    report["feature_importance"] = ranked;
  }
  std::vector<std::pair<std::string, json>> evaluations{{"test", report}};
  if (cv)
    evaluations.emplace_back("cross_validation", CrossValidate(p, *file, target, task, split.train, ctx, 0.5, 0.95));
  ctx.cancellation().ThrowIfCancelled();
  ctx.Progress(0.96, "saving the model");

  NewModel out;
  ModelRecord& rec = out.record;
  rec.id = core::NewUuid();
  rec.owner_id = p.at("owner_id");
  rec.name = p.at("name");
  rec.job_id = ctx.job_id();
  rec.dataset_id = dataset->id;
  rec.dataset_version = dataset->version;
  rec.data_fingerprint = Fingerprint(*file, target_column, split.train);
  rec.target = target_column;
  rec.task = ml::TaskName(task);
  rec.algorithm = p.at("algorithm");
  rec.params = p.at("params");
  rec.preprocessing = spec;
  rec.preprocessing_id = p.value("preprocessing_id", "");
  rec.input_schema = trained.pipeline.InputSchema();
  rec.metrics = ml::LeaderboardValues(report, task);
  rec.train_rows = static_cast<int64_t>(split.train.size());
  rec.test_rows = static_cast<int64_t>(split.test.size());
  rec.fit_seconds = fit_seconds;

  ArtifactInfo info;
  info.model_id = rec.id;
  info.name = rec.name;
  info.algorithm = rec.algorithm;
  info.task = task;
  info.class_names = target.class_names;
  info.target = target_column;
  info.params = rec.params;
  info.preprocessing = spec;
  info.input_schema = rec.input_schema;
  info.feature_names = names;
  info.feature_importance = importance;
  info.metrics = rec.metrics;
  info.training = {{"dataset_id", rec.dataset_id},
                   {"dataset_version", rec.dataset_version},
                   {"data_fingerprint", rec.data_fingerprint},
                   {"train_rows", rec.train_rows},
                   {"test_rows", rec.test_rows},
                   {"seed", seed},
                   {"threads", p.at("threads")},
                   {"fit_seconds", fit_seconds},
                   {"job_id", rec.job_id}};
  out.artifact = EncodeArtifact(info, trained.pipeline, *trained.model);
  out.evaluations = std::move(evaluations);
  ModelRecord stored = deps.models.Store(std::move(out));
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ctx.SetResult({{"model_id", stored.id},
                 {"name", stored.name},
                 {"version", stored.version},
                 {"metrics", stored.metrics},
                 {"fit_seconds", stored.fit_seconds},
                 {"total_seconds", total}});
}

std::string CsvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string CsvValue(const json& v) {
  if (v.is_string()) return CsvField(v.get<std::string>());
  if (v.is_null()) return "";
  return v.dump();
}

void RunBatchPredict(ModelTaskDeps& deps, jobs::TaskContext& ctx) {
  const json& p = ctx.params();
  auto model_record = deps.models.Find(p.at("model_id"));
  if (!model_record) Fail(ErrorCode::kNotFound, "model " + p.at("model_id").get<std::string>() + " no longer exists");
  auto dataset = deps.datasets.Find(p.at("dataset_id"));
  if (!dataset) Fail(ErrorCode::kNotFound, "dataset " + p.at("dataset_id").get<std::string>() + " no longer exists");
  auto model = deps.models.Load(*model_record);
  auto file = deps.datasets.Open(*dataset);
  const ArtifactInfo& info = model->info;

  fs::path out_path = BatchPredictionFile(deps.models.data_dir(), ctx.job_id());
  fs::create_directories(out_path.parent_path());
  fs::path tmp = out_path;
  tmp += ".tmp";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  out << "row,prediction";
  bool probabilities = ml::IsClassification(info.task);
  if (probabilities) {
    for (const auto& c : info.class_names) out << "," << CsvField("probability_" + c);
  }
  out << "\n";
  const int64_t rows = file->rows();
  out.precision(17);
  for (int64_t first = 0; first < rows; first += kBatchPredictChunk) {
    ctx.cancellation().ThrowIfCancelled();
    int64_t n = std::min(kBatchPredictChunk, rows - first);
    std::vector<int64_t> chunk(static_cast<std::size_t>(n));
    std::iota(chunk.begin(), chunk.end(), first);
    ml::Matrix x = model->pipeline.Transform(*file, chunk);
    ml::Predictions pred = model->model->Predict(x);
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      out << chunk[i] << "," << CsvValue(PredictionValue(info, pred, i));
      for (std::size_t c = 0; probabilities && c < pred.classes; ++c)
        out << "," << pred.probabilities[i * pred.classes + c];
      out << "\n";
    }
    ctx.Progress(static_cast<double>(first + n) / static_cast<double>(std::max<int64_t>(rows, 1)),
                 std::to_string(first + n) + " of " + std::to_string(rows) + " rows");
  }
  out.flush();
  if (!out) Fail(ErrorCode::kInternal, "cannot write the predictions file");
  out.close();
  fs::rename(tmp, out_path);
  ctx.SetResult({{"model_id", model_record->id},
                 {"dataset_id", dataset->id},
                 {"rows", rows},
                 {"bytes", static_cast<int64_t>(fs::file_size(out_path))}});
}

}  // namespace

fs::path BatchPredictionFile(const fs::path& data_dir, const std::string& job_id) {
  return data_dir / "predictions" / (job_id + ".csv");
}

json CheckTrainingRequest(const json& request, const datasets::DatasetRecord& dataset, const data::ColumnarFile& file,
                          int max_threads) {
  if (!request.is_object()) Fail(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  static const std::set<std::string> known{"name",      "dataset_id", "target",        "task",
                                           "algorithm", "params",     "preprocessing", "preprocessing_id",
                                           "seed",      "cv_folds",   "threads"};
  for (const auto& [key, value] : request.items()) {
    if (known.count(key) == 0) Invalid("unknown field '" + key + "'");
  }
  json out;
  out["dataset_id"] = dataset.id;
  std::string target = StringField(request, "target");
  std::string task_name = StringField(request, "task");
  const data::ColumnSchema* column = nullptr;
  if (!target.empty()) {
    column = FindColumn(file, target);
    if (column == nullptr) Invalid("target: the dataset has no column '" + target + "'");
  }
  ml::Task task;
  if (!task_name.empty()) {
    task = ml::ParseTask(task_name);
  } else if (column != nullptr) {
    task = InferTask(file, *column);
  } else {
    Invalid("target: name the column to predict (or set task to clustering)");
  }
  if (task == ml::Task::kClustering) {
    if (!target.empty()) Invalid("target: clustering has no target; leave it out");
  } else {
    if (target.empty()) Invalid("target: required for " + std::string(ml::TaskName(task)));
    ml::EncodeTarget(file, target, task);  // throws when the column does not suit the task
  }
  out["target"] = target;
  out["task"] = ml::TaskName(task);

  if (!request.contains("algorithm") || !request["algorithm"].is_string()) {
    Invalid("algorithm: required, one of the names GET /algorithms lists");
  }
  const ml::AlgorithmSpec& algorithm = ml::FindAlgorithm(request["algorithm"].get<std::string>());
  if (std::find(algorithm.tasks.begin(), algorithm.tasks.end(), task) == algorithm.tasks.end()) {
    std::string tasks;
    for (ml::Task t : algorithm.tasks) tasks += (tasks.empty() ? "" : ", ") + std::string(ml::TaskName(t));
    Invalid("algorithm: " + algorithm.name + " does not do " + std::string(ml::TaskName(task)) + " (it does " + tasks +
            ")");
  }
  out["algorithm"] = algorithm.name;
  out["params"] = ml::ResolveParams(algorithm, request.value("params", json::object()));

  json spec = ml::ResolvePipelineSpec(request.value("preprocessing", json()));
  for (const json& d : spec.at("drop")) {
    if (FindColumn(file, d.get<std::string>()) == nullptr) {
      Invalid("preprocessing.drop: the dataset has no column '" + d.get<std::string>() + "'");
    }
  }
  const json& time_column = spec.at("split").at("time_column");
  if (time_column.is_string() && FindColumn(file, time_column.get<std::string>()) == nullptr) {
    Invalid("preprocessing.split.time_column: the dataset has no column '" + time_column.get<std::string>() + "'");
  }
  if (spec.at("split").at("method") == "stratified" && !ml::IsClassification(task)) {
    Invalid("preprocessing.split.method: stratified needs a classification task");
  }
  out["preprocessing"] = spec;
  out["preprocessing_id"] = StringField(request, "preprocessing_id");

  std::string name = StringField(request, "name");
  if (name.empty()) name = dataset.name + (target.empty() ? "" : "-" + target) + "-" + algorithm.name;
  if (name.size() > kMaxNameLength) Invalid("name: 1 to " + std::to_string(kMaxNameLength) + " characters");
  if (std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    Invalid("name: control characters are not allowed");
  }
  out["name"] = name;
  out["seed"] = IntField(request, "seed", 0, 0, (int64_t{1} << 53));
  int64_t folds = IntField(request, "cv_folds", 0, 0, kMaxCvFolds);
  if (folds == 1) Invalid("cv_folds: 0 (none) or from 2 to " + std::to_string(kMaxCvFolds));
  out["cv_folds"] = folds;
  out["threads"] = IntField(request, "threads", max_threads, 1, max_threads);
  return out;
}

void RegisterModelTasks(jobs::TaskRegistry& registry, ModelTaskDeps& deps) {
  registry.Register({"train_model",
                     "Fits a preprocessing pipeline and a model on a dataset's training split, evaluates it and "
                     "stores the model version.",
                     [&deps](jobs::TaskContext& ctx) { RunTrainModel(deps, ctx); }, jobs::StartPolicy::kInternal,
                     nullptr});
  registry.Register({"batch_predict", "Scores every row of a dataset with a model into a CSV file.",
                     [&deps](jobs::TaskContext& ctx) { RunBatchPredict(deps, ctx); }, jobs::StartPolicy::kInternal,
                     nullptr});
}

}  // namespace playground::models
