#include "models/predict.h"

#include <utility>
#include <vector>

#include "core/digest.h"
#include "core/error.h"

namespace playground::models {
namespace {

using nlohmann::json;

// A row's cache key: the model version (its id names one immutable artifact) and the row's
// canonical text (nlohmann's dump sorts object keys, so key order does not matter).
std::string RowKey(const ArtifactInfo& info, const json& record) {
  return info.model_id + ":" + core::Hex(core::Sha256(record.dump()));
}

}  // namespace

json PredictionValue(const ArtifactInfo& info, const ml::Predictions& p, std::size_t i) {
  double v = p.values[i];
  switch (info.task) {
    case ml::Task::kBinary:
    case ml::Task::kMulticlass: {
      auto c = static_cast<std::size_t>(v);
      return c < info.class_names.size() ? json(info.class_names[c]) : json(nullptr);
    }
    case ml::Task::kClustering: return static_cast<int64_t>(v);
    case ml::Task::kRegression: break;
  }
  return v;
}

json PredictRecords(const LoadedModel& model, const json& records, cache::Cache* cache, PredictStats* stats) {
  if (!records.is_array()) core::Fail(core::ErrorCode::kValidation, "rows: must be an array of objects");
  const ArtifactInfo& info = model.info;
  const std::size_t n = records.size();
  std::vector<json> answers(n);
  std::vector<std::string> keys;
  std::vector<std::size_t> todo;  // rows not answered from the cache
  if (cache != nullptr) {
    keys.reserve(n);
    for (const json& r : records) keys.push_back(RowKey(info, r));
    auto hits = cache->GetMany(keys);
    for (std::size_t i = 0; i < n; ++i) {
      json cached = hits[i] ? json::parse(*hits[i], nullptr, false) : json();
      if (cached.is_object()) {
        answers[i] = std::move(cached);
      } else {
        todo.push_back(i);
      }
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) todo.push_back(i);
  }

  std::size_t failed = 0;
  if (!todo.empty()) {
    json batch = json::array();
    for (std::size_t i : todo) batch.push_back(records[i]);
    std::vector<json> problems;
    std::vector<bool> valid;
    ml::Matrix x = model.pipeline.TransformRecords(batch, problems, &valid);
    // Rows with an error are left out of the model's input: their features are all missing.
    std::vector<std::size_t> scored;
    for (std::size_t b = 0; b < todo.size(); ++b) {
      if (valid[b]) scored.push_back(b);
    }
    ml::Matrix input(scored.size(), x.cols);
    for (std::size_t s = 0; s < scored.size(); ++s) {
      auto row = x.Row(scored[s]);
      std::copy(row.begin(), row.end(), input.values.begin() + static_cast<std::ptrdiff_t>(s * x.cols));
    }
    ml::Predictions p = scored.empty() ? ml::Predictions{} : model.model->Predict(input);
    std::vector<json> fresh(todo.size(), json{{"prediction", nullptr}});
    for (std::size_t s = 0; s < scored.size(); ++s) {
      json& a = fresh[scored[s]];
      a["prediction"] = PredictionValue(info, p, s);
      if (p.classes > 0) {
        json probs = json::object();
        for (std::size_t c = 0; c < p.classes && c < info.class_names.size(); ++c) {
          probs[info.class_names[c]] = p.probabilities[s * p.classes + c];
        }
        a["probabilities"] = std::move(probs);
      }
    }
    for (json& problem : problems) {
      auto b = problem.at("row").get<std::size_t>();
      problem.erase("row");
      fresh[b]["problems"].push_back(std::move(problem));
    }
    std::vector<std::pair<std::string, std::string>> to_cache;
    for (std::size_t b = 0; b < todo.size(); ++b) {
      if (!valid[b]) ++failed;
      if (cache != nullptr && valid[b]) to_cache.emplace_back(keys[todo[b]], fresh[b].dump());
      answers[todo[b]] = std::move(fresh[b]);
    }
    if (cache != nullptr && !to_cache.empty()) {
      cache->PutMany(to_cache, std::chrono::duration_cast<std::chrono::seconds>(kPredictionTtl));
    }
  }
  if (stats != nullptr) *stats = {n, n - todo.size(), failed};
  return answers;
}

}  // namespace playground::models
