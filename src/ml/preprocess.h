// Preprocessing: from a stored dataset (a data::ColumnarFile) to the dense feature matrix the
// models in model.h learn from, and from a prediction request's JSON records to the same features.
// A pipeline learns every statistic from the training rows only, is saved with the model, and
// transforms a JSON record exactly as it transforms the same row of the file (bit for bit).
//
// The pipeline spec (field names are part of the API; ResolvePipelineSpec fills the defaults):
//   {
//     "drop": [],                        // column names that are never features (InputSchema
//                                        // lists them under "ignored", like text columns)
//     "impute": {"numeric": "mean",      // mean | median | most_frequent | constant
//                "categorical": "most_frequent",  // most_frequent | constant
//                "fill_value": 0,        // numeric constant
//                "fill_category": "missing"},     // categorical constant
//     "scale": "none",                   // none | standard | minmax | robust
//     "encode": {"method": "onehot",     // onehot | ordinal | target
//                "max_levels": 20},      // onehot: at most this many columns per category column
//     "clip": {"method": "none",         // none | quantile | iqr
//              "lower": 0.01, "upper": 0.99,  // quantile: the quantiles kept
//              "iqr_factor": 1.5},       // iqr: [q1 - f * iqr, q3 + f * iqr]
//     "datetime_parts": ["year", "month", "day_of_week", "hour"],
//     "split": {"method": "random",      // random | stratified | time
//               "test_fraction": 0.2, "seed": 0,
//               "time_column": null}     // time: a date, datetime, integer or number column
//   }
//
// What each column type becomes, in this order of steps per column:
//   datetime parts -> clip -> impute -> encode -> scale.
//   * integer, number: clipped (bounds from the training rows), imputed, scaled.
//   * boolean: 0/1, imputed and scaled like a number but never clipped.
//   * date, datetime: one feature per chosen part, in UTC: year, month (1-12), day_of_week
//     (Monday = 0, as pandas' dayofweek) and hour (0-23; never for a date column, whose hour is
//     always 0). Each part is imputed and scaled like a number but not clipped.
//   * category: missing values are imputed first (the most frequent training level, or
//     fill_category, which then is a level of its own), then encoded:
//       onehot: one 0/1 column per training level. When there are more than max_levels levels,
//         the max_levels - 1 most frequent get a column (ties: in text order) and every other
//         level, and any level unseen in training, sets one "(other)" column. With max_levels
//         or fewer levels an unseen level sets no column (all zeros). Never scaled.
//       ordinal: the index of the level among the training levels in text order (-1 for an
//         unseen level, as OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)),
//         then scaled like a number.
//       target: the smoothed mean of the label per level, with scikit-learn 1.3's
//         TargetEncoder(smooth="auto") empirical-Bayes shrinkage towards the overall mean:
//         lambda = n_l * var(y) / (n_l * var(y) + s_l), encoding = lambda * mean_l(y) +
//         (1 - lambda) * mean(y), where s_l is the mean squared deviation of the level's labels
//         from the overall mean mean(y) (and the encoding is mean(y) when lambda is undefined). Regression encodes the
//         label; binary the indicator of class 1 (one column); multiclass the indicator of each class (one column per
//         class). An unseen level gets the overall mean. Not scaled. The training matrix (see Fit) is encoded out of
//         fold: 5 folds from a seeded shuffle, each fold's rows encoded with statistics from the other four, so no
//         training row sees its own label.
//   * text: never a feature (listed under "ignored" in InputSchema).
// Scaling: standard (x - mean) / std with ddof 0; minmax (x - min) / (max - min); robust
// (x - median) / (q3 - q1); a zero spread divides by 1, as scikit-learn does. Quantiles use
// linear interpolation (numpy's default). Statistics of a column without any training value
// are: imputation fill_value (numeric) or fill_category; clip and scale become identity.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/columnar.h"
#include "ml/model.h"

namespace playground::ml {

// Validates `given` (an object with any subset of the fields above, or null) and returns it with
// every default filled. Throws core::Error(kValidation) naming the bad field and what it accepts;
// unknown fields are refused. Column names are checked later, against the dataset, by Fit and
// MakeSplit.
nlohmann::json ResolvePipelineSpec(const nlohmann::json& given);

// The label of every row of a file. Thread-compatible.
//   y: one entry per row of the file (indexed by row number); the class index 0..classes-1 for
//      classification, the value for regression, NaN where the target is missing.
//   missing_rows: the rows whose target is missing, ascending. Callers leave them out of the
//      rows they split and train on.
struct Target {
  std::vector<double> y;
  std::vector<std::string> class_names;  // classification: in class index order
  std::vector<int64_t> missing_rows;
};

// At most this many classes for a multiclass target.
inline constexpr std::size_t kMaxClasses = 1000;

// Reads the target column. Classification: classes are the distinct present values, numbered in
// sorted order as scikit-learn's LabelEncoder does: integer and number columns numerically,
// boolean as false < true, category and text by their bytes. Binary needs exactly 2 classes,
// multiclass 2 to kMaxClasses; date and datetime columns are refused. Regression needs an integer
// or number column. Clustering has no target (returns NaN for every row, no missing rows).
// Throws core::Error(kValidation) for an unknown column or any of the above.
Target EncodeTarget(const data::ColumnarFile& file, const std::string& column, Task task);

// Row numbers of the file, ascending in each part.
struct Split {
  std::vector<int64_t> train;
  std::vector<int64_t> test;
};

// Splits `rows` (row numbers of `file`, e.g. every row whose target is present) per the resolved
// spec's "split" object. The test set has ceil(test_fraction * n) rows (random, time) and always
// at least one row in each part, so at least 2 rows are needed.
//   random: a seeded shuffle (std::mt19937_64 with our own unbiased bounded draw, so that the
//     result is the same with every standard library).
//   stratified (classification only): each class's rows are shuffled and round(test_fraction *
//     n_class) of them go to the test set, at most n_class - 1 (each class keeps one row in train).
//   time: rows sorted by time_column (ties by row number), the last ceil(test_fraction * n) are the
//     test set. Rows with a missing time sort first (they are always training rows).
// Deterministic for a given seed. Throws core::Error(kValidation) for too few rows, a stratified
// split of a non-classification task, or a missing/unknown/wrongly typed time_column.
Split MakeSplit(const nlohmann::json& split_spec, const data::ColumnarFile& file, std::span<const int64_t> rows,
                const Target& target, Task task);

// A problem with one record given to TransformRecords: {"row": i, "column": name or null,
// "problem": text, "level": "error" | "warning"}.

// A fitted preprocessing pipeline (see the file comment for what it does to each column).
// Thread-compatible: Fit and Load build it; afterwards it is immutable and every const method is
// safe for concurrent use.
class Pipeline {
 public:
  Pipeline() = default;

  // Learns the pipeline from `train_rows` of `file` only. `spec` must be resolved
  // (ResolvePipelineSpec); `target` is EncodeTarget's result for `target_column` (ignored unless
  // encode.method is "target", which needs a classification or regression task; training rows
  // must have a present target then). `seed` drives the out-of-fold target-encoding folds.
  // When `training_matrix` is not null it receives the features of `train_rows` in that order,
  // equal to Transform(file, train_rows) except that target-encoded columns are out of fold.
  // Throws core::Error(kValidation) for an unknown column in "drop", an unknown target column, no
  // training rows, or no feature left.
  static Pipeline Fit(const nlohmann::json& spec, const data::ColumnarFile& file, const std::string& target_column,
                      std::span<const int64_t> train_rows, const Target& target, Task task, std::uint64_t seed,
                      Matrix* training_matrix = nullptr);

  // Features of `rows` of `file` (which may be another file with the same columns; categories are
  // matched by their text). Throws core::Error(kValidation) when an input column is absent or has
  // another type.
  Matrix Transform(const data::ColumnarFile& file, std::span<const int64_t> rows) const;

  // Features of prediction records: `records` is a JSON array of objects mapping column names to
  // raw values as a user sends them: numbers (or numeric strings) for integer and number columns;
  // true/false, "true"/"false" or 0/1 for booleans; "YYYY-MM-DD" or ISO 8601 text for dates and
  // datetimes (data::ParseDatetime's forms, month first); the level's text (or a number, read as
  // its decimal text) for categories. null, a missing spelling such as "" or "NA", or an absent key
  // is a missing value and is imputed as in training; an absent input column is also reported as
  // a "warning". Keys that are not input columns (the target, dropped and text columns, unknown
  // names) are ignored; unknown names are reported as a "warning". A value of the wrong type, or a
  // record that is not an object, is an "error": that row's features are all NaN and valid[row]
  // is false. Every problem is appended to `errors` (format above), in row order. Throws
  // core::Error(kValidation) when `records` is not an array.
  Matrix TransformRecords(const nlohmann::json& records, std::vector<nlohmann::json>& errors,
                          std::vector<bool>* valid = nullptr) const;

  // One name per feature column: "age", "when.month", "colour=red", "colour=(other)", "colour"
  // (ordinal, or target-encoded regression/binary), "colour:setosa" (target-encoded multiclass).
  std::vector<std::string> FeatureNames() const;
  // {"columns": [{"name", "type", "levels" (category: the training levels, sorted)}...],
  //  "ignored": [{"name", "reason"}...], "target": name}: what a prediction record may hold.
  nlohmann::json InputSchema() const;
  std::size_t features() const { return feature_count_; }

  // CBOR bytes (doubles stored exactly); Load gives a pipeline with bit-identical transforms.
  // Load throws core::Error(kValidation) for bytes that are not a saved pipeline.
  std::string Save() const;
  static Pipeline Load(std::string_view bytes);

  // One input column as fitted. Public only so that preprocess.cpp's helpers can use it.
  struct Numeric {  // one numeric feature before encoding: clip, impute, scale
    double lower = 0;
    double upper = 0;
    bool clip = false;
    double fill = 0;
    double shift = 0;
    double scale = 1;
  };
  struct Column {
    std::string name;
    data::ColumnType type = data::ColumnType::kNumber;
    std::vector<std::string> parts;  // date/datetime: the parts made, in order
    std::vector<Numeric> numeric;    // one per part (date/datetime), one for number/integer/boolean
    // Category only.
    std::string fill_level;                              // what a missing value becomes
    std::vector<std::string> levels;                     // training levels, in text order
    std::vector<std::string> kept;                       // onehot: levels with a column, in text order
    bool other = false;                                  // onehot: an "(other)" column follows the kept ones
    Numeric ordinal;                                     // ordinal: the scale of the code
    std::vector<std::vector<double>> encoding;           // target: per level (as `levels`), per output
    std::vector<double> prior;                           // target: the overall mean per output
    std::unordered_map<std::string, std::size_t> index;  // level -> position in `kept` or `levels`
    std::size_t width = 0;                               // feature columns this column makes
  };

 private:
  void Finish();  // builds the lookup indexes and the feature count from the fitted state

  std::string method_;  // encode.method
  Task task_ = Task::kRegression;
  std::string target_;
  std::vector<std::string> class_names_;
  std::vector<Column> columns_;
  std::vector<std::pair<std::string, std::string>> ignored_;  // name, reason
  std::size_t feature_count_ = 0;
};

}  // namespace playground::ml
