// Scoring rows with a loaded model: JSON records of raw column values in, one answer per row out
// (prediction, class probabilities, the row's problems), with each row's answer cached by model
// and row content.
#pragma once

#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "cache/cache.h"
#include "ml/model.h"
#include "models/artifact.h"

namespace playground::models {

// How long a row's prediction is cached (the platform's documents say 24 hours).
inline constexpr std::chrono::hours kPredictionTtl{24};

struct PredictStats {
  std::size_t rows = 0;
  std::size_t cached = 0;  // rows answered from the cache
  std::size_t failed = 0;  // rows with an error (no prediction)
};

// Scores `records` (a JSON array of objects). Each answer is
//   {"prediction": class name | number | cluster index | null,
//    "probabilities": {class name: p, ...} (classifiers only),
//    "problems": [{"column", "problem", "level"}...] (only when there are some)}
// A row with an "error" problem (a wrong type, not an object) gets a null prediction; the other
// rows are scored. `cache` may be null. Throws core::Error(kValidation) when `records` is not an
// array. Safe for concurrent use.
nlohmann::json PredictRecords(const LoadedModel& model, const nlohmann::json& records, cache::Cache* cache,
                              PredictStats* stats = nullptr);

// The answer for prediction row `i` of `p`: the class name, value or cluster index, as JSON.
nlohmann::json PredictionValue(const ArtifactInfo& info, const ml::Predictions& p, std::size_t i);

}  // namespace playground::models
