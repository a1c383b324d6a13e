// The data model shared by the dataset readers, the columnar file and the profile: column types,
// a table's schema, and the in-memory form of a run of rows (a row group) as the columnar file
// stores it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace playground::data {

enum class ColumnType : uint8_t {
  kInteger = 1,   // 64-bit signed
  kNumber = 2,    // IEEE double
  kBoolean = 3,   // 0/1
  kDate = 4,      // microseconds since the Unix epoch (midnight UTC of the day)
  kDatetime = 5,  // microseconds since the Unix epoch, UTC
  kCategory = 6,  // code into the column's dictionary
  kText = 7,      // UTF-8 bytes
};

// "integer", "number", "boolean", "date", "datetime", "category", "text".
std::string_view TypeName(ColumnType t);
std::optional<ColumnType> TypeFromName(std::string_view name);
// True for the types whose values are numbers to a profile or a model: integer, number, boolean.
bool IsNumeric(ColumnType t);
// True for date and datetime, whose values are microseconds since the Unix epoch.
bool IsTime(ColumnType t);

struct ColumnSchema {
  std::string name;
  ColumnType type = ColumnType::kText;
  // kCategory only: the distinct values in order of first appearance; a value's code is its
  // index. Appending rows adds new values at the end, so codes already written never change.
  std::vector<std::string> categories;
};

using Schema = std::vector<ColumnSchema>;

// One column's values for a run of rows. Every row has a slot in the value vector of its type,
// missing rows included (holding 0 / an empty string), so that row i is at index i everywhere.
// Thread-compatible.
struct ColumnChunk {
  ColumnType type = ColumnType::kText;
  std::vector<uint8_t> valid;   // one per row: 1 present, 0 missing
  std::vector<int64_t> ints;    // integer, boolean, date, datetime
  std::vector<double> doubles;  // number
  std::vector<uint32_t> codes;  // category
  std::vector<uint64_t> ends;   // text: end offset of row i's bytes in `bytes`
  std::string bytes;            // text

  explicit ColumnChunk(ColumnType t = ColumnType::kText) : type(t) {}
  size_t size() const { return valid.size(); }
  void Clear();
  void Reserve(size_t rows);

  // Inline: ingestion calls these once per field.
  void AppendMissing();
  void AppendInt(int64_t v) {  // integer, boolean, date, datetime
    valid.push_back(1);
    ints.push_back(v);
  }
  void AppendDouble(double v) {
    valid.push_back(1);
    doubles.push_back(v);
  }
  void AppendCode(uint32_t code) {
    valid.push_back(1);
    codes.push_back(code);
  }
  void AppendText(std::string_view v) {
    valid.push_back(1);
    bytes.append(v);
    ends.push_back(bytes.size());
  }

  bool IsValid(size_t row) const { return valid[row] != 0; }
  std::string_view Text(size_t row) const {
    uint64_t begin = row == 0 ? 0 : ends[row - 1];
    return std::string_view(bytes).substr(begin, ends[row] - begin);
  }
};

// A run of rows: one chunk per column of the schema, all the same length.
struct RowGroup {
  std::vector<ColumnChunk> columns;
  size_t rows() const { return columns.empty() ? 0 : columns.front().size(); }
};

// Values as text, the one way every output (preview rows, CSV download, type conversion)
// writes them: integers in decimal, numbers in the shortest form that reads back to the same
// double, booleans as true/false, dates as YYYY-MM-DD, datetimes as ISO 8601 with a Z
// (YYYY-MM-DDTHH:MM:SS[.ffffff]Z), categories and text as they are.
std::string FormatNumber(double v);
std::string FormatDate(int64_t micros);
std::string FormatDatetime(int64_t micros);

}  // namespace playground::data
