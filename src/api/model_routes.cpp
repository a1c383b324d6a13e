// The ML engine's endpoints: the algorithm catalogue, saved preprocessing pipelines, training
// (a job), model versions (list, get, delete, download, promote), predictions (online, cached;
// and batch, a job with a CSV to download) and a dataset's leaderboard.
#include <algorithm>
#include <chrono>
#include <fstream>

#include "api/api.h"
#include "api/params.h"
#include "core/error.h"
#include "core/metrics.h"
#include "ml/metrics.h"
#include "ml/model.h"
#include "ml/preprocess.h"
#include "models/predict.h"
#include "models/tasks.h"

namespace playground::api {
namespace {

using core::ErrorCode;
using core::Fail;
using http::Access;
using nlohmann::json;

constexpr size_t kMaxNameLength = 200;

struct PredictionMetrics {
  prometheus::Family<prometheus::Counter>& predictions;
  prometheus::Family<prometheus::Histogram>& duration;
  prometheus::Family<prometheus::Counter>& cached;

  static PredictionMetrics& Get() {
    auto& r = core::Metrics::Global().registry();
    static PredictionMetrics m{
        prometheus::BuildCounter().Name("model_predictions_total").Help("Rows predicted, by model").Register(r),
        prometheus::BuildHistogram()
            .Name("model_inference_duration_seconds")
            .Help("Time to answer one prediction request (preprocessing, model, cache), by model")
            .Register(r),
        prometheus::BuildCounter()
            .Name("model_predictions_cached_total")
            .Help("Rows answered from the prediction cache, by model")
            .Register(r)};
    return m;
  }
};

// A model by id, or by name (the caller's model of that name: its promoted version, else its
// latest). Owners and admins only; anyone else gets 404.
models::ModelRecord Owned(ApiContext& ctx, const http::Request& req) {
  const std::string& key = req.Param("id");
  auto m = ctx.models.Find(key);
  if (!m) m = ctx.models.FindByName(req.caller.user_id, key);
  if (!m) Fail(ErrorCode::kNotFound, "no model " + key);
  RequireOwnerOrAdmin(req.caller, m->owner_id, "model", key);
  return *m;
}

models::PreprocessingRecord OwnedPreprocessing(ApiContext& ctx, const std::string& id, const http::Caller& caller) {
  auto p = ctx.models.FindPreprocessing(id);
  if (!p) Fail(ErrorCode::kNotFound, "no preprocessing " + id);
  RequireOwnerOrAdmin(caller, p->owner_id, "preprocessing", id);
  return *p;
}

datasets::DatasetRecord ReadableDataset(ApiContext& ctx, const http::Request& req, const std::string& id) {
  auto d = ctx.datasets.Find(id);
  if (!d) Fail(ErrorCode::kNotFound, "no dataset " + id);
  RequireReadable(ctx, req.caller, d->owner_id, "dataset", id);
  return *d;
}

json Page(const json& items, int64_t total, int64_t offset, int64_t limit) {
  return {{"items", items}, {"total", total}, {"offset", offset}, {"limit", limit}};
}

json ObjectSchema() { return {{"type", "object"}}; }

json PageSchema(const json& item) {
  return {{"type", "object"},
          {"properties",
           {{"items", {{"type", "array"}, {"items", item}}},
            {"total", {{"type", "integer"}}},
            {"offset", {{"type", "integer"}}},
            {"limit", {{"type", "integer"}}}}}};
}

// The training request's schema, with each algorithm's parameters from their declarations.
json TrainingSchema() {
  json algorithms = json::array();
  json variants = json::array();
  for (const auto& a : ml::Algorithms()) {
    algorithms.push_back(a.name);
    json props = json::object();
    for (const auto& p : a.params) {
      json s;
      switch (p.type) {
        case ml::ParamSpec::Type::kInteger: s = {{"type", "integer"}, {"minimum", p.min}, {"maximum", p.max}}; break;
        case ml::ParamSpec::Type::kNumber: s = {{"type", "number"}, {"minimum", p.min}, {"maximum", p.max}}; break;
        case ml::ParamSpec::Type::kBoolean: s = {{"type", "boolean"}}; break;
        case ml::ParamSpec::Type::kChoice: s = {{"type", "string"}, {"enum", p.choices}}; break;
      }
      s["default"] = p.default_value;
      s["description"] = p.help;
      props[p.name] = s;
    }
    variants.push_back({{"title", a.name}, {"type", "object"}, {"additionalProperties", false}, {"properties", props}});
  }
  return {{"type", "object"},
          {"required", {"dataset_id", "algorithm"}},
          {"properties",
           {{"dataset_id", {{"type", "string"}}},
            {"target", {{"type", "string"}, {"description", "The column to predict (none for clustering)"}}},
            {"task",
             {{"type", "string"},
              {"enum", {"binary", "multiclass", "regression", "clustering"}},
              {"description", "Default: regression for a numeric target, else binary or multiclass"}}},
            {"algorithm", {{"type", "string"}, {"enum", algorithms}}},
            {"params", {{"oneOf", variants}, {"description", "The algorithm's parameters (GET /algorithms)"}}},
            {"preprocessing", {{"type", "object"}, {"description", "A pipeline spec (see POST /preprocessings)"}}},
            {"preprocessing_id", {{"type", "string"}, {"description", "A saved pipeline, instead of preprocessing"}}},
            {"name", {{"type", "string"}, {"description", "Versions of one name form a model's history"}}},
            {"seed", {{"type", "integer"}, {"default", 0}}},
            {"cv_folds", {{"type", "integer"}, {"default", 0}, {"description", "0, or 2 to 10 folds"}}},
            {"threads", {{"type", "integer"}, {"description", "Default and maximum: TRAIN_THREADS"}}}}}};
}

}  // namespace

void AddModelRoutes(http::Router& router, ApiContext& ctx) {
  const std::string p = ctx.settings.api_prefix;
  PredictionMetrics::Get();

  router
      .Get(p + "/algorithms",
           [](http::Request&) {
             json items = json::array();
             for (const auto& a : ml::Algorithms()) items.push_back(ml::DescribeAlgorithm(a));
             return http::Response::Json(200, {{"items", items}});
           })
      .Summary("The algorithms and their parameters",
               "Each parameter's name, type, range, default and help, as declared by the engine (the web UI builds "
               "its forms from this).")
      .Tag("models")
      .Returns(200, "The algorithms", ObjectSchema())
      .Allow(Access::kUser, {"read", "full"});

  // Saved preprocessing pipelines.
  router
      .Post(p + "/preprocessings",
            [&ctx](http::Request& req) {
              json body = req.JsonBody();
              std::string name = CheckName(Field(body, "name", kMaxNameLength));
              json spec = ml::ResolvePipelineSpec(body.value("spec", json()));
              auto rec = ctx.models.CreatePreprocessing(req.caller.user_id, name, spec);
              auto res = http::Response::Json(201, rec.ToJson());
              res.headers.Set("Location", ctx.settings.api_prefix + "/preprocessings/" + rec.id);
              return res;
            })
      .Summary("Save a preprocessing pipeline",
               "`spec`: drop, impute, scale, encode, clip, datetime_parts and split (see docs/model-format.md). "
               "Every default is filled in and stored; training requests refer to it by `preprocessing_id`.")
      .Tag("models")
      .Body({{"type", "object"},
             {"required", {"name"}},
             {"properties", {{"name", {{"type", "string"}}}, {"spec", ObjectSchema()}}}})
      .Returns(201, "The saved pipeline", ObjectSchema())
      .Allow(Access::kMember, {"full"});

  router
      .Get(p + "/preprocessings",
           [&ctx](http::Request& req) {
             int64_t offset = QueryInt(req, "offset", 0, 0, int64_t{1} << 40);
             int64_t limit = PageLimit(req, 50, 500);
             int64_t total = 0;
             auto items =
                 ctx.models.ListPreprocessings(req.caller.admin() ? "" : req.caller.user_id, offset, limit, &total);
             json out = json::array();
             for (const auto& i : items) out.push_back(i.ToJson());
             return http::Response::Json(200, Page(out, total, offset, limit));
           })
      .Summary("List saved preprocessing pipelines", "Yours (admins: all), newest first.")
      .Tag("models")
      .Query("offset", "integer", "Items to skip (default 0)")
      .Query("limit", "integer", "Items per page, 1-500 (default 50)")
      .Returns(200, "A page of pipelines", PageSchema(ObjectSchema()))
      .Allow(Access::kUser, {"read", "full"});

  router
      .Get(p + "/preprocessings/{id}",
           [&ctx](http::Request& req) {
             return http::Response::Json(200, OwnedPreprocessing(ctx, req.Param("id"), req.caller).ToJson());
           })
      .Summary("Get a saved preprocessing pipeline")
      .Tag("models")
      .Returns(200, "The pipeline", ObjectSchema())
      .Allow(Access::kUser, {"read", "full"});

  router
      .Delete(p + "/preprocessings/{id}",
              [&ctx](http::Request& req) {
                auto rec = OwnedPreprocessing(ctx, req.Param("id"), req.caller);
                ctx.models.DeletePreprocessing(rec.id);
                return http::Response::Empty(204);
              })
      .Summary("Delete a saved preprocessing pipeline", "Models trained with it keep their own copy.")
      .Tag("models")
      .Returns(204, "Deleted")
      .Allow(Access::kMember, {"full"});

  // Training.
  router
      .Post(p + "/models",
            [&ctx](http::Request& req) {
              json body = req.JsonBody();
              if (!body.is_object()) Fail(ErrorCode::kInvalidArgument, "the body must be a JSON object");
              if (!body.contains("dataset_id") || !body["dataset_id"].is_string()) {
                Fail(ErrorCode::kValidation, "dataset_id: required, the id of a dataset you can read");
              }
              auto dataset = ReadableDataset(ctx, req, body["dataset_id"].get<std::string>());
              if (body.contains("preprocessing_id") && !body["preprocessing_id"].is_null()) {
                if (body.contains("preprocessing") && !body["preprocessing"].is_null()) {
                  Fail(ErrorCode::kValidation, "give either preprocessing or preprocessing_id, not both");
                }
                if (!body["preprocessing_id"].is_string()) Fail(ErrorCode::kValidation, "preprocessing_id: a string");
                body["preprocessing"] = OwnedPreprocessing(ctx, body["preprocessing_id"], req.caller).spec;
              }
              auto file = ctx.datasets.Open(dataset);
              json params = models::CheckTrainingRequest(body, dataset, *file, ctx.settings.train_threads);
              params["owner_id"] = req.caller.user_id;
              jobs::NewJob job{"train_model", req.caller.user_id, "", params, 0};
              auto queued = ctx.jobs.Enqueue(std::move(job));
              auto res = http::Response::Json(202, jobs::ToJson(queued));
              res.headers.Set("Location", ctx.settings.api_prefix + "/jobs/" + queued.id);
              return res;
            })
      .Summary("Train a model",
               "Checks the request against the dataset and the algorithm's declared parameters (422 naming the "
               "field and what it accepts), then queues a `train_model` job and answers it. The job fits the "
               "preprocessing and the model on the training split, evaluates on the test split (and by k-fold "
               "cross-validation with `cv_folds`), and stores a new version of the model `name`; its result holds "
               "`model_id`. Follow it at GET /jobs/{id} (or /jobs/{id}/events); cancel it with POST "
               "/jobs/{id}/cancel.")
      .Tag("models")
      .Body(TrainingSchema())
      .Returns(202, "The queued training job", ObjectSchema())
      .Returns(422, "A field is invalid; the detail names it and what it accepts")
      .Allow(Access::kMember, {"full"});

  router
      .Get(p + "/models",
           [&ctx](http::Request& req) {
             models::ModelQuery q;
             q.owner_id = req.caller.admin() ? "" : req.caller.user_id;
             q.name = req.Query("name").value_or("");
             q.dataset_id = req.Query("dataset_id").value_or("");
             q.target = req.Query("target").value_or("");
             if (q.name.size() > kMaxNameLength || q.dataset_id.size() > kMaxNameLength ||
                 q.target.size() > kMaxNameLength) {
               Fail(ErrorCode::kValidation, "name, dataset_id, target: at most 200 characters");
             }
             q.offset = QueryInt(req, "offset", 0, 0, int64_t{1} << 40);
             q.limit = PageLimit(req, 50, 500);
             auto page = ctx.models.List(q);
             json items = json::array();
             for (const auto& m : page.items) items.push_back(m.ToJson());
             return http::Response::Json(200, Page(items, page.total, q.offset, q.limit));
           })
      .Summary("List model versions", "Yours (admins: all), newest first, filtered by name, dataset or target.")
      .Tag("models")
      .Query("name", "string", "Only versions of this model name")
      .Query("dataset_id", "string", "Only models trained on this dataset")
      .Query("target", "string", "Only models of this target column")
      .Query("offset", "integer", "Items to skip (default 0)")
      .Query("limit", "integer", "Items per page, 1-500 (default 50)")
      .Returns(200, "A page of models", PageSchema(ObjectSchema()))
      .Allow(Access::kUser, {"read", "full"});

  router
      .Get(p + "/models/{id}",
           [&ctx](http::Request& req) {
             auto m = Owned(ctx, req);
             json out = m.ToJson();
             out["evaluations"] = ctx.models.Evaluations(m.id);
             return http::Response::Json(200, out);
           })
      .Summary("Get a model version",
               "By id, or by name: the promoted version of your model of that name (else its latest). With its "
               "evaluations: the test split's report (metrics, confusion matrix, curves, residuals, feature "
               "importance) and cross-validation when it was asked for.")
      .Tag("models")
      .Returns(200, "The model and its evaluations", ObjectSchema())
      .Allow(Access::kUser, {"read", "full"});

  router
      .Delete(p + "/models/{id}",
              [&ctx](http::Request& req) {
                auto m = Owned(ctx, req);
                ctx.models.Delete(m);
                ctx.audit.Record("model_deleted", req.caller.user_id, m.id, InfoOf(req),
                                 {{"name", m.name}, {"version", m.version}});
                return http::Response::Empty(204);
              })
      .Summary("Delete a model version", "Removes its row, its evaluations and its artifact file.")
      .Tag("models")
      .Returns(204, "Deleted")
      .Allow(Access::kMember, {"full"});

  router
      .Get(p + "/models/{id}/download",
           [&ctx](http::Request& req) {
             auto m = Owned(ctx, req);
             http::Response res;
             res.body = ctx.models.ReadArtifact(m);
             res.headers.Set("Content-Type", "application/octet-stream");
             res.headers.Set("Content-Disposition",
                             "attachment; filename=\"model-" + m.id + "-v" + std::to_string(m.version) + ".pgmodel\"");
             return res;
           })
      .Summary("Download (export) a model version",
               "The artifact file: pipeline, model, input schema, metrics and training parameters, in the format of "
               "docs/model-format.md.")
      .Tag("models")
      .Returns(200, "The artifact", {{"type", "string"}, {"format", "binary"}}, "application/octet-stream")
      .Allow(Access::kUser, {"read", "full"});

  router
      .Post(p + "/models/{id}/promote",
            [&ctx](http::Request& req) {
              auto m = Owned(ctx, req);
              auto promoted = ctx.models.Promote(m);
              ctx.audit.Record("model_promoted", req.caller.user_id, m.id, InfoOf(req),
                               {{"name", m.name}, {"version", m.version}});
              return http::Response::Json(200, promoted.ToJson());
            })
      .Summary("Promote a model version", "It becomes the version GET/predict on models/{name} serve.")
      .Tag("models")
      .Returns(200, "The promoted version", ObjectSchema())
      .Allow(Access::kMember, {"full"});

  router
      .Post(p + "/models/{id}/predict",
            [&ctx](http::Request& req) {
              auto start = std::chrono::steady_clock::now();
              auto m = Owned(ctx, req);
              json body = req.JsonBody();
              if (!body.is_object() || !body.contains("rows") || !body["rows"].is_array()) {
                Fail(ErrorCode::kValidation, "rows: required, an array of objects mapping column names to values");
              }
              const json& rows = body["rows"];
              if (rows.empty()) Fail(ErrorCode::kValidation, "rows: give at least one row");
              if (rows.size() > static_cast<size_t>(ctx.settings.predict_max_rows)) {
                Fail(ErrorCode::kValidation, "rows: at most " + std::to_string(ctx.settings.predict_max_rows) +
                                                 " per request (PREDICT_MAX_ROWS); use batch_predict for more");
              }
              auto loaded = ctx.models.Load(m);
              models::PredictStats stats;
              json predictions = models::PredictRecords(*loaded, rows, ctx.prediction_cache, &stats);
              auto& metrics = PredictionMetrics::Get();
              metrics.predictions.Add({{"model", m.name}}).Increment(static_cast<double>(stats.rows));
              metrics.cached.Add({{"model", m.name}}).Increment(static_cast<double>(stats.cached));
              double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
              metrics.duration.Add({{"model", m.name}}, core::Metrics::LatencyBuckets()).Observe(seconds);
              return http::Response::Json(200, {{"model_id", m.id},
                                                {"name", m.name},
                                                {"version", m.version},
                                                {"task", m.task},
                                                {"predictions", predictions},
                                                {"failed_rows", stats.failed},
                                                {"cached_rows", stats.cached}});
            })
      .Summary("Predict",
               "`rows`: JSON objects of raw column values, as in the dataset (up to PREDICT_MAX_ROWS). Each row is "
               "preprocessed exactly as at training time. Answers per row the prediction (class, value or "
               "cluster), class probabilities, and its problems: a value of the wrong type is an error (no "
               "prediction for that row), a missing or unknown column a warning. Answers are cached for 24 hours by "
               "model version and row content.")
      .Tag("models")
      .Body({{"type", "object"},
             {"required", {"rows"}},
             {"properties", {{"rows", {{"type", "array"}, {"items", ObjectSchema()}}}}}})
      .Returns(200, "One answer per row, in order", ObjectSchema())
      .RateZone("predict")
      .Allow(Access::kUser, {"predict", "full"});

  router
      .Post(p + "/models/{id}/batch_predict",
            [&ctx](http::Request& req) {
              auto m = Owned(ctx, req);
              json body = req.JsonBody();
              std::string dataset_id = Field(body, "dataset_id", kMaxNameLength);
              auto dataset = ReadableDataset(ctx, req, dataset_id);
              jobs::NewJob job{"batch_predict",
                               req.caller.user_id,
                               "",
                               {{"owner_id", req.caller.user_id}, {"model_id", m.id}, {"dataset_id", dataset.id}},
                               0};
              auto queued = ctx.jobs.Enqueue(std::move(job));
              auto res = http::Response::Json(202, jobs::ToJson(queued));
              res.headers.Set("Location", ctx.settings.api_prefix + "/jobs/" + queued.id);
              return res;
            })
      .Summary("Score a whole dataset",
               "Queues a `batch_predict` job; when it succeeds, GET /batch_predictions/{job_id} gives the CSV (row, "
               "prediction, a probability per class).")
      .Tag("models")
      .Body({{"type", "object"}, {"required", {"dataset_id"}}, {"properties", {{"dataset_id", {{"type", "string"}}}}}})
      .Returns(202, "The queued job", ObjectSchema())
      .Allow(Access::kMember, {"full"});

  router
      .Get(p + "/batch_predictions/{job_id}",
           [&ctx](http::Request& req) {
             const std::string& id = req.Param("job_id");
             auto job = ctx.jobs.jobs().Get(id);
             if (!job || job->type != "batch_predict") Fail(ErrorCode::kNotFound, "no batch prediction " + id);
             RequireOwnerOrAdmin(req.caller, job->owner_id, "batch prediction", id);
             if (job->state != jobs::JobState::kSucceeded) {
               Fail(ErrorCode::kConflict, "the batch prediction is " + std::string(jobs::StateName(job->state)) +
                                              "; its file is ready when the job has succeeded");
             }
             auto path = models::BatchPredictionFile(ctx.models.data_dir(), id);
             auto in = std::make_shared<std::ifstream>(path, std::ios::binary);
             if (!*in) Fail(ErrorCode::kNotFound, "the predictions file of " + id + " is gone");
             http::Response res;
             res.headers.Set("Content-Type", "text/csv; charset=utf-8");
             res.headers.Set("Content-Disposition", "attachment; filename=\"predictions-" + id + ".csv\"");
             res.stream = [in](const std::shared_ptr<http::StreamWriter>& w) {
               std::string buf(1 << 16, '\0');
               while (*in) {
                 in->read(buf.data(), static_cast<std::streamsize>(buf.size()));
                 auto n = static_cast<size_t>(in->gcount());
                 if (n == 0 || !w->WriteWait(buf.substr(0, n))) break;
               }
               w->Close();
             };
             return res;
           })
      .Summary("Download a batch prediction", "The CSV a succeeded batch_predict job wrote, streamed.")
      .Tag("models")
      .Returns(200, "The predictions", {{"type", "string"}}, "text/csv")
      .Returns(409, "The job has not succeeded (yet)")
      .Allow(Access::kUser, {"read", "full"});

  router
      .Get(p + "/datasets/{id}/leaderboard",
           [&ctx](http::Request& req) {
             auto dataset = ReadableDataset(ctx, req, req.Param("id"));
             models::ModelQuery q;
             q.owner_id = req.caller.admin() ? "" : req.caller.user_id;
             q.dataset_id = dataset.id;
             q.target = req.Query("target").value_or("");
             q.limit = 10000;
             auto page = ctx.models.List(q);
             std::string task = req.Query("task").value_or("");
             std::string metric = req.Query("metric").value_or("");
             // The task of the board: asked for, else that of the newest model.
             if (task.empty() && !page.items.empty()) task = page.items.front().task;
             ml::Task t = task.empty() ? ml::Task::kBinary : ml::ParseTask(task);
             auto metrics = ml::LeaderboardMetrics(t);
             if (metric.empty()) metric = metrics.front();
             if (std::find(metrics.begin(), metrics.end(), metric) == metrics.end()) {
               std::string list;
               for (const auto& name : metrics) list += (list.empty() ? "" : ", ") + name;
               Fail(ErrorCode::kValidation, "metric: one of " + list + " for " + std::string(ml::TaskName(t)));
             }
             bool higher = ml::HigherIsBetter(metric);
             std::vector<models::ModelRecord> rows;
             for (auto& m : page.items) {
               if (m.task == ml::TaskName(t)) rows.push_back(std::move(m));
             }
             auto value = [&](const models::ModelRecord& m) -> std::optional<double> {
               const json& v = m.metrics.contains(metric) ? m.metrics[metric] : json();
               return v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt;
             };
             std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
               auto va = value(a);
               auto vb = value(b);
               if (va.has_value() != vb.has_value()) return va.has_value();  // unscored last
               if (!va) return false;
               return higher ? *va > *vb : *va < *vb;
             });
             json items = json::array();
             int rank = 0;
             for (const auto& m : rows) {
               items.push_back({{"rank", ++rank},
                                {"model_id", m.id},
                                {"name", m.name},
                                {"version", m.version},
                                {"algorithm", m.algorithm},
                                {"target", m.target},
                                {"promoted", m.promoted},
                                {"metrics", m.metrics},
                                {"fit_seconds", m.fit_seconds},
                                {"created_at", m.ToJson()["created_at"]}});
             }
             return http::Response::Json(200, {{"dataset_id", dataset.id},
                                               {"task", ml::TaskName(t)},
                                               {"metric", metric},
                                               {"higher_is_better", higher},
                                               {"metrics", metrics},
                                               {"items", items}});
           })
      .Summary("A dataset's leaderboard",
               "Your models trained on the dataset (admins: everyone's), best first by `metric` (default: the "
               "task's first: accuracy, rmse or silhouette), measured on each model's test split.")
      .Tag("models")
      .Query("target", "string", "Only models of this target column")
      .Query("task", "string", "binary, multiclass, regression or clustering (default: the newest model's)")
      .Query("metric", "string", "The metric to sort by")
      .Returns(200, "The leaderboard", ObjectSchema())
      .Allow(Access::kUser, {"read", "full"});
}

}  // namespace playground::api
