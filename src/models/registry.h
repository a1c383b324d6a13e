// The model registry: saved preprocessing pipelines, trained model versions and their
// evaluations as database rows, each model's artifact as a file under DATA_DIR/models/, and the
// loaded models kept in memory (least recently used first out).
//
// A model's artifact file is written (under a temporary name, then renamed) before its row is
// inserted, so a row always has its file; a training job that runs twice (at-least-once
// delivery) stores its model once: the job id is unique, and the second attempt's file is removed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cache/cache.h"
#include "core/clock.h"
#include "models/artifact.h"
#include "store/store.h"

namespace playground::models {

struct PreprocessingRecord {
  std::string id;
  std::string owner_id;
  std::string name;
  nlohmann::json spec;  // resolved
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;
  nlohmann::json ToJson() const;
};

struct ModelRecord {
  std::string id;
  std::string owner_id;
  std::string name;
  int64_t version = 0;
  bool promoted = false;
  std::string job_id;
  std::string dataset_id;
  int64_t dataset_version = 0;
  std::string data_fingerprint;
  std::string target;
  std::string task;
  std::string algorithm;
  nlohmann::json params;
  nlohmann::json preprocessing;
  std::string preprocessing_id;
  nlohmann::json input_schema;
  nlohmann::json metrics;
  std::string artifact_path;  // relative to DATA_DIR
  int64_t artifact_bytes = 0;
  std::string artifact_sha256;
  int64_t train_rows = 0;
  int64_t test_rows = 0;
  double fit_seconds = 0;
  int64_t created_at_us = 0;
  // The API's representation (no file paths).
  nlohmann::json ToJson() const;
};

// A trained model to record: its artifact bytes, its row, and its evaluations.
struct NewModel {
  ModelRecord record;  // id, owner_id, name, job_id, dataset..., fit_seconds; version is assigned
  std::string artifact;
  std::vector<std::pair<std::string, nlohmann::json>> evaluations;  // kind, report
};

struct ModelQuery {
  std::string owner_id;  // "" for every owner (admins)
  std::string name;      // exact name, or ""
  std::string dataset_id;
  std::string target;
  int64_t offset = 0;
  int64_t limit = 50;
};

struct ModelPage {
  std::vector<ModelRecord> items;
  int64_t total = 0;
};

// Safe for concurrent use; several processes may share one database and DATA_DIR.
class ModelRegistry {
 public:
  ModelRegistry(store::Store& store, const core::Clock& clock, std::filesystem::path data_dir,
                std::size_t loaded_capacity);

  PreprocessingRecord CreatePreprocessing(const std::string& owner_id, const std::string& name,
                                          const nlohmann::json& spec);
  std::optional<PreprocessingRecord> FindPreprocessing(const std::string& id) const;
  std::vector<PreprocessingRecord> ListPreprocessings(const std::string& owner_id, int64_t offset, int64_t limit,
                                                      int64_t* total) const;
  void DeletePreprocessing(const std::string& id);

  // The model id must be set by the caller (it is inside the artifact). The version is the next
  // of its owner and name. Returns the stored record, or the one stored earlier for the same job.
  ModelRecord Store(NewModel model);
  std::optional<ModelRecord> Find(const std::string& id) const;
  // The promoted version of `owner_id`'s model `name`, else its latest version.
  std::optional<ModelRecord> FindByName(const std::string& owner_id, const std::string& name) const;
  std::optional<ModelRecord> FindByJob(const std::string& job_id) const;
  ModelPage List(const ModelQuery& query) const;
  // Removes the row, its evaluations and its file.
  void Delete(const ModelRecord& model);
  // Makes this version the one its name serves (unpromoting the others of the name).
  ModelRecord Promote(const ModelRecord& model);
  // [{"kind", "report", "created_at"}...]
  nlohmann::json Evaluations(const std::string& model_id) const;

  std::filesystem::path ArtifactFile(const ModelRecord& model) const { return data_dir_ / model.artifact_path; }
  // The artifact's bytes (kInternal when the file is missing or damaged).
  std::string ReadArtifact(const ModelRecord& model) const;
  // The loaded model, from memory or from its file.
  std::shared_ptr<const LoadedModel> Load(const ModelRecord& model);

  // Removes artifact files without a row (a crash between the file and its row).
  int RemoveLeftovers();

  const std::filesystem::path& data_dir() const { return data_dir_; }

 private:
  store::Store& store_;
  const core::Clock& clock_;
  std::filesystem::path data_dir_;
  cache::LruMap<LoadedModel> loaded_;
};

}  // namespace playground::models
