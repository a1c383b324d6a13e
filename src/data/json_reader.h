// Records from JSON uploads: an array of objects, or one object per line (NDJSON), read as a
// stream in bounded memory. Each record is a list of (key, value as text) fields with the values'
// text as written, so that type inference sees JSON input the way it sees CSV.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/csv_reader.h"

namespace playground::data {

enum class JsonFormat : uint8_t {
  kArray,   // [ {...}, {...} ]
  kNdjson,  // one object per line; blank lines are skipped
};

struct JsonOptions {
  size_t max_field_bytes = 16 << 20;  // a key or a value
  size_t max_columns = 20000;         // fields in one record
  size_t max_record_bytes = 64 << 20;
  // NDJSON only: a reader that starts at a record's offset() inside a file (see CsvOptions).
  int64_t start_offset = 0;
  int64_t start_line = 1;
  size_t buffer_bytes = 1 << 20;
};

// One field of a record. `value` is the text of a scalar: a string's content (unescaped), a
// number exactly as written ("5.0" stays "5.0"), "true" or "false"; empty for null, with
// `is_null` set.
struct JsonField {
  std::string key;
  std::string value;
  bool is_null = false;

  bool operator==(const JsonField&) const = default;
};

// Reads the records of a JSON array of objects or of NDJSON. Each object is cut out of the stream
// by a small scanner and its fields are read with nlohmann::json's SAX parser, which validates it
// (syntax, escapes, UTF-8) without building a DOM. Only flat objects are accepted: a field whose
// value is an object or an array is an error, reported at its opening bracket, so nesting is never
// followed deeper than one level whatever the input.
//
// Errors (core::Error thrown by Next): kValidation "line L, column C: ..." for JSON that is not
// well formed, a top level that is not an array of objects (kArray) or a line that is not an
// object (kNdjson), and nested values ("field 'x' holds an object; only scalar values are
// supported"); kPayloadTooLarge naming the limit. An empty input (only whitespace) has no
// records. Keys may repeat within a record and records may have different keys: the caller
// decides what that means. After an error the reader must not be used again.
//
// Thread-compatible.
class JsonReader {
 public:
  JsonReader(ByteSource& source, JsonFormat format, JsonOptions options = {});
  JsonReader(const JsonReader&) = delete;
  JsonReader& operator=(const JsonReader&) = delete;

  // Reads the next record into `fields` (replacing its contents; the strings' storage is
  // reused); false at the end of the input.
  bool Next(std::vector<JsonField>& fields);

  // Of the record Next returned last: the 1-based line and the byte offset where it starts.
  int64_t line() const { return record_line_; }
  int64_t offset() const { return record_offset_; }

 private:
  enum class State : uint8_t { kStart, kFirstElement, kAfterElement, kAfterComma, kAfterArray, kDone };
  enum class Found : uint8_t { kObject, kNeedMore };

  bool NextArrayRecord(std::vector<JsonField>& fields);
  bool NextNdjsonRecord(std::vector<JsonField>& fields);
  // Skips whitespace from pos_; false when the data ran out first (pos_ then at the end).
  bool SkipSpace();
  // Finds the end of the object starting at pos_ (just past its '}', or past the opening bracket
  // of its first nested value, which parsing then rejects).
  Found ScanObject(size_t* object_end);
  void ParseRecord(size_t begin, size_t end, std::vector<JsonField>& fields);
  void Fill();
  void CheckRecordLimit(size_t bytes) const;  // fails when a record of `bytes` is over the limit
  [[noreturn]] void FailAt(size_t at, const std::string& what) const;
  void Advance(size_t to);  // moves pos_ forward, counting lines

  ByteSource& source_;
  JsonFormat format_;
  JsonOptions options_;
  State state_ = State::kStart;

  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  int64_t buf_offset_ = 0;  // file offset of buf_[0]
  int64_t line_ = 1;        // line at pos_
  int64_t line_start_ = 0;  // file offset where that line starts (for columns)
  int64_t record_line_ = 0;
  int64_t record_offset_ = 0;
};

}  // namespace playground::data
