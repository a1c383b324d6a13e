// The ML job types:
//   train_model    fits a preprocessing pipeline and a model on a dataset's training split,
//                  evaluates it on the test split (and by k-fold cross-validation when asked),
//                  and stores the model version with its evaluations. Parameters (checked by
//                  CheckTrainingRequest when the job is created):
//                  {"owner_id", "name", "dataset_id", "target", "task", "algorithm", "params",
//                   "preprocessing", "preprocessing_id", "seed", "cv_folds", "threads"}
//   batch_predict  scores every row of a dataset with a model and writes a CSV file
//                  (DATA_DIR/predictions/<job id>.csv): {"owner_id", "model_id", "dataset_id"}
// Both report progress and stop when cancelled (training between boosting rounds or trees).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "datasets/catalog.h"
#include "jobs/task.h"
#include "models/registry.h"

namespace playground::models {

// Folds of cross-validation a training request may ask for (0: none).
inline constexpr int kMaxCvFolds = 10;
// Rows scored per batch by batch_predict.
inline constexpr int64_t kBatchPredictChunk = 10000;
// Rows the silhouette of a clustering is computed on.
inline constexpr std::size_t kSilhouetteSample = 2000;

struct ModelTaskDeps {
  datasets::DatasetCatalog& datasets;
  ModelRegistry& models;
  int max_threads = 1;  // threads one training may use
};

// Registers train_model and batch_predict. `deps` must outlive the registry's use.
void RegisterModelTasks(jobs::TaskRegistry& registry, ModelTaskDeps& deps);

// Checks and completes a training request against the dataset (the target exists and suits the
// task, the algorithm supports the task, its parameters are in range, the pipeline spec is
// valid) and returns the job's parameters with every default filled. Throws
// core::Error(kValidation) naming the field and what it accepts.
nlohmann::json CheckTrainingRequest(const nlohmann::json& request, const datasets::DatasetRecord& dataset,
                                    const data::ColumnarFile& file, int max_threads);

// The CSV file a batch_predict job writes.
std::filesystem::path BatchPredictionFile(const std::filesystem::path& data_dir, const std::string& job_id);

}  // namespace playground::models
