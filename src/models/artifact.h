// A trained model version as one immutable file: the fitted preprocessing pipeline, the fitted
// model, the input schema, the evaluation metrics, the training parameters and the fingerprint of
// the data it learned from. The format is written down in docs/model-format.md:
//   "PGMODEL1" (8 bytes) | CBOR document | SHA-256 of everything before it (32 bytes)
// A loaded artifact predicts exactly what the trained model predicted before it was saved.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ml/model.h"
#include "ml/preprocess.h"

namespace playground::models {

inline constexpr std::string_view kArtifactMagic = "PGMODEL1";
inline constexpr int kArtifactFormat = 1;

// Everything in an artifact but the two fitted blobs. Thread-compatible value type.
struct ArtifactInfo {
  std::string model_id;
  std::string name;
  int64_t version = 0;
  std::string algorithm;
  ml::Task task = ml::Task::kBinary;
  std::vector<std::string> class_names;  // classification: in class index order
  std::string target;                    // "" for clustering
  nlohmann::json params;                 // resolved algorithm parameters
  nlohmann::json preprocessing;          // resolved pipeline spec
  nlohmann::json input_schema;           // Pipeline::InputSchema()
  std::vector<std::string> feature_names;
  std::vector<double> feature_importance;  // empty when the model has none
  nlohmann::json metrics;                  // the test split's leaderboard metrics
  // {"dataset_id", "dataset_version", "data_fingerprint", "train_rows", "test_rows", "seed",
  //  "threads", "fit_seconds", "created_at"}
  nlohmann::json training;
};

// The bytes of an artifact file.
std::string EncodeArtifact(const ArtifactInfo& info, const ml::Pipeline& pipeline, const ml::Model& model);

// A model ready to predict. Immutable once loaded; safe for concurrent use.
struct LoadedModel {
  ArtifactInfo info;
  ml::Pipeline pipeline;
  std::unique_ptr<ml::Model> model;
};

// Checks the magic, the checksum and the document, and rebuilds the pipeline and the model.
// Throws core::Error(kInternal) for a damaged or foreign file (a stored artifact that does not
// load is the platform's problem, not the caller's).
std::shared_ptr<const LoadedModel> DecodeArtifact(std::string_view bytes);

// The JSON form of a task's info (the artifact document without blobs), for the API.
nlohmann::json InfoJson(const ArtifactInfo& info);

}  // namespace playground::models
