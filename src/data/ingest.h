// From an uploaded file on disk to a columnar dataset file: the two-pass ingestion pipeline,
// and the other operations that rewrite a dataset (appending rows, changing column types) or read
// it out again (rows as JSON, CSV).
//
// Ingestion in two passes keeps memory bounded whatever the file's size: the first pass
// tokenizes every record, checks the shape and infers each column's type (keeping only
// per-column counters and, for possible categories, the distinct values up to the level cap);
// the second pass converts the values into row groups sized to the memory budget and writes
// them, in parallel over byte ranges of the file recorded in the first pass (CSV and NDJSON).
// A CSV file is first tried in one pass: ranges cut at line breaks are converted in parallel
// while their types are inferred, and written in order; when a range turns out not to start at a
// record, or a column's ranges were stored as types the whole column does not have (integers
// early and words late, say), the file is read again in the two passes, so the result is always
// theirs. Nothing is left behind on failure: the output is written to a temporary name and
// renamed only when complete.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/columnar.h"
#include "data/types.h"
#include "data/values.h"

namespace playground::data {

enum class SourceFormat { kCsv, kJson, kNdjson };
std::string_view FormatName(SourceFormat f);  // "csv", "json", "ndjson"

struct IngestOptions {
  SourceFormat format = SourceFormat::kCsv;
  char delimiter = 0;  // CSV: 0 detects comma, semicolon, tab or pipe
  size_t max_columns = 20000;
  size_t max_field_bytes = 16 << 20;
  size_t memory_budget_bytes = 256 << 20;  // for the row groups held at once, across threads
  int threads = 2;
  // CSV: try to read the file once (see Ingest); false always takes the two passes.
  bool one_pass = true;
};

// A column's type and, for dates written NN/NN/YYYY, the order its values were read in (kept so
// that appended rows are read the same way).
struct ColumnInfo {
  ColumnSchema schema;
  DateOrder date_order = DateOrder::kMonthFirst;
};

struct IngestResult {
  std::vector<ColumnInfo> columns;
  int64_t rows = 0;
  char delimiter = 0;          // CSV: the delimiter used
  int passes = 2;              // 1 when one pass read, inferred, converted and wrote the file
  double scan_seconds = 0;     // first pass: tokenize and infer (0 after one pass)
  double convert_seconds = 0;  // second pass: convert and write (after one pass: all of it)
};

// Reads `source_path` (CSV with a header row, a JSON array of objects, or NDJSON) and writes the
// dataset file `data_path`. Throws core::Error: kValidation naming the line (and column) of the
// first problem (malformed CSV or JSON, ragged rows, invalid UTF-8, no columns, empty or
// duplicate column names), kPayloadTooLarge for too many columns or too long a field.
IngestResult Ingest(const std::string& source_path, const std::string& data_path, const IngestOptions& options);

struct AppendResult {
  std::vector<ColumnInfo> columns;  // with any category values the new rows added
  int64_t rows_added = 0;
};

// Writes `out_path` with every row of `existing` followed by the rows of `source_path` (same
// formats as Ingest). The new rows must have exactly the existing columns (in any order) and
// values that fit their types; otherwise kValidation lists the first problems (line, column,
// value) and nothing is written.
AppendResult AppendRows(const ColumnarFile& existing, const std::vector<ColumnInfo>& columns,
                        const std::string& source_path, const std::string& out_path, const IngestOptions& options);

// Writes `out_path` with the columns named in `changes` converted to their new types (each value
// written as text, then read as the new type). A value that does not fit is not dropped: the
// call fails with kValidation naming, per column, how many values do not fit and the first few
// rows and values, and nothing is written.
std::vector<ColumnInfo> ChangeTypes(const ColumnarFile& existing, const std::vector<ColumnInfo>& columns,
                                    const std::map<std::string, ColumnType>& changes, const std::string& out_path);

// One value as JSON for previews: numbers as numbers, booleans as booleans, dates, datetimes,
// categories and text as strings, missing as null.
nlohmann::json ValueJson(const ColumnarFile& file, const RowGroup& rows, size_t column, size_t row);

// Rows [offset, offset + limit) as arrays of values in column order.
nlohmann::json RowsJson(const ColumnarFile& file, int64_t offset, int64_t limit);

// The whole dataset as RFC 4180 CSV with a header row, handed to `sink` in pieces of about
// 1 MiB; stops early when `sink` returns false. Missing values are empty fields.
void WriteCsv(const ColumnarFile& file, const std::function<bool(std::string)>& sink);

}  // namespace playground::data
