#include "data/ingest.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "data/csv_reader.h"
#include "data/infer.h"
#include "data/json_reader.h"

namespace playground::data {
namespace {

using core::ErrorCode;
using core::Fail;
using nlohmann::json;

// Pass one notes where records start at least this often, so that pass two can cut the file
// into row groups sized to the memory budget and convert them in parallel.
constexpr int64_t kCheckpointRows = 4096;
constexpr int64_t kCheckpointBytes = 1 << 20;
constexpr int64_t kMaxGroupRows = 1 << 16;
// Problems listed in one error before "and N more".
constexpr size_t kMaxReported = 10;
// A column changed to a category may have at most this many distinct values.
constexpr size_t kMaxCategoryLevels = 65536;

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string Quote(std::string_view s, size_t max = 60) {
  std::string out = "'";
  out += s.size() > max ? std::string(s.substr(0, max)) + "..." : std::string(s);
  out += "'";
  return out;
}

struct Checkpoint {
  int64_t offset = 0;  // byte offset of the first record
  int64_t line = 1;
  int64_t row = 0;  // data row index of that record
};

// Reads records of any of the source formats as one row of text fields per record, aligned to
// the columns. CSV: the header row names the columns. JSON and NDJSON: the keys do, in order of
// first appearance over the whole file (pass one learns them; pass two is given them).
// Thread-compatible.
class RecordReader {
 public:
  RecordReader(const std::string& path, const IngestOptions& options, int64_t offset = 0, int64_t length = -1,
               int64_t line = 1, char delimiter = 0)
      : source_(path, offset, length), format_(options.format) {
    if (format_ == SourceFormat::kCsv) {
      CsvOptions co;
      co.delimiter = delimiter != 0 ? delimiter : options.delimiter;
      co.max_field_bytes = options.max_field_bytes;
      co.max_columns = options.max_columns;
      co.start_offset = offset;
      co.start_line = line;
      csv_.emplace(source_, co);
    } else {
      JsonOptions jo;
      jo.max_field_bytes = options.max_field_bytes;
      jo.max_columns = options.max_columns;
      jo.start_offset = offset;
      jo.start_line = line;
      json_.emplace(source_, format_ == SourceFormat::kJson ? JsonFormat::kArray : JsonFormat::kNdjson, jo);
    }
  }

  bool csv() const { return csv_.has_value(); }
  char delimiter() const { return csv_ ? csv_->delimiter() : 0; }
  int64_t line() const { return csv_ ? csv_->line() : json_->line(); }
  int64_t offset() const { return csv_ ? csv_->offset() : json_->offset(); }
  // CSV: where the input after the last record starts (see CsvReader::end_offset).
  int64_t end_offset() const { return csv_->end_offset(); }
  int64_t end_line() const { return csv_->end_line(); }

  // CSV: the next raw record (the header first).
  bool NextCsv(std::vector<std::string_view>& fields) { return csv_->Next(fields); }
  // CSV: up to `max` raw records at once (see CsvReader::NextBlock).
  size_t NextBlock(std::vector<std::string_view>& fields, std::vector<size_t>& ends, size_t max) {
    return csv_->NextBlock(fields, ends, max);
  }

  // JSON: the next record's fields, keyed; `learn` adds unknown keys as new columns, otherwise an
  // unknown key is an error. `values[i]` is nullopt for a missing value.
  bool NextJson(std::vector<std::optional<std::string_view>>& values, bool learn) {
    if (!json_->Next(fields_)) return false;
    values.assign(columns_.size(), std::nullopt);
    seen_.assign(columns_.size(), false);
    for (const auto& f : fields_) {
      auto it = index_.find(f.key);
      size_t col;
      if (it == index_.end()) {
        if (!learn) {
          Fail(ErrorCode::kValidation,
               "line " + std::to_string(json_->line()) + ": field " + Quote(f.key) + " is not a column of the dataset");
        }
        if (f.key.empty()) {
          Fail(ErrorCode::kValidation, "line " + std::to_string(json_->line()) + ": a field has an empty name");
        }
        col = columns_.size();
        if (col >= max_columns_) {
          Fail(ErrorCode::kPayloadTooLarge,
               "the records have more than " + std::to_string(max_columns_) + " distinct fields (DATASET_MAX_COLUMNS)");
        }
        index_.emplace(f.key, col);
        columns_.push_back(f.key);
        values.emplace_back();
        seen_.push_back(false);
      } else {
        col = it->second;
      }
      if (seen_[col]) {
        Fail(ErrorCode::kValidation,
             "line " + std::to_string(json_->line()) + ": field " + Quote(f.key) + " appears twice in one object");
      }
      seen_[col] = true;
      if (!f.is_null) values[col] = f.value;
    }
    return true;
  }

  void SetColumns(std::vector<std::string> names, size_t max_columns) {
    columns_ = std::move(names);
    max_columns_ = max_columns;
    index_.clear();
    for (size_t i = 0; i < columns_.size(); ++i) index_.emplace(columns_[i], i);
  }
  void SetMaxColumns(size_t n) { max_columns_ = n; }
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  FileSource source_;
  SourceFormat format_;
  std::optional<CsvReader> csv_;
  std::optional<JsonReader> json_;
  std::vector<JsonField> fields_;
  std::vector<std::string> columns_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<bool> seen_;
  size_t max_columns_ = 20000;
};

void CheckHeader(const std::vector<std::string_view>& header) {
  std::unordered_map<std::string_view, size_t> seen;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string_view name = TrimSpaces(header[i]);
    if (name.empty()) {
      Fail(ErrorCode::kValidation, "line 1, column " + std::to_string(i + 1) + ": the column has no name");
    }
    auto [it, added] = seen.emplace(name, i);
    if (!added) {
      Fail(ErrorCode::kValidation, "line 1: the column name " + Quote(name) + " appears twice (columns " +
                                       std::to_string(it->second + 1) + " and " + std::to_string(i + 1) + ")");
    }
  }
}

[[noreturn]] void Ragged(int64_t line, size_t got, size_t want) {
  Fail(ErrorCode::kValidation, "line " + std::to_string(line) + ": " + std::to_string(got) +
                                   " fields, but the header has " + std::to_string(want) + " columns");
}

// Converts one record's fields with the columns' parsers; returns false and reports through
// `bad` when a value does not fit.
struct BadValue {
  int64_t line;
  size_t column;
  std::string value;
};

struct Converter {
  std::vector<ValueParser> parsers;
  std::vector<BadValue> bad;
  int64_t bad_count = 0;

  void Field(ColumnChunk& out, size_t col, std::string_view text, int64_t line) {
    if (!parsers[col].Append(out, text)) [[unlikely]] {
      ++bad_count;
      if (bad.size() < kMaxReported) bad.push_back({line, col, std::string(text.substr(0, 60))});
    }
  }
};

RowGroup NewGroup(const std::vector<ColumnInfo>& columns, size_t reserve) {
  RowGroup g;
  g.columns.reserve(columns.size());
  for (const auto& c : columns) {
    g.columns.emplace_back(c.schema.type);
    g.columns.back().Reserve(reserve);
  }
  return g;
}

// Emptied row groups kept for reuse: their vectors keep their capacity, so that converting the
// next groups neither asks the allocator for fresh memory nor takes a page fault on every page of
// it, which costs more than the conversion itself. Safe for concurrent use.
class GroupPool {
 public:
  explicit GroupPool(const std::vector<ColumnInfo>& columns) : columns_(columns) {}

  // An empty group of the columns' types with room for `rows` rows.
  RowGroup Take(size_t rows) {
    RowGroup g;
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        g = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (g.columns.empty()) return NewGroup(columns_, rows);
    for (auto& c : g.columns) c.Reserve(rows);
    return g;
  }

  void Give(RowGroup g) {
    for (auto& c : g.columns) c.Clear();
    std::lock_guard lock(mu_);
    free_.push_back(std::move(g));
  }

 private:
  const std::vector<ColumnInfo>& columns_;
  std::mutex mu_;  // guards free_
  std::vector<RowGroup> free_;
};

// Runs `convert(i)` for i in [0, count) on `threads` worker threads and `write(i, result)` on the
// calling thread in order of i, so that writing one range overlaps converting the next ones. At
// most `window` ranges are converted ahead of the one being written, which bounds the memory
// held. An exception from convert(i) is rethrown when range i's turn to be written comes (so the
// first failing range in order is the one reported) and ranges after it are not started; one
// from write stops the workers. Either way every thread is joined before this returns.
template <typename Result, typename Convert, typename Write>
void ConvertInOrder(size_t count, int threads, size_t window, const Convert& convert, const Write& write) {
  std::mutex mu;  // guards the state below
  std::condition_variable cv;
  size_t next = 0;       // the next range a worker takes
  size_t written = 0;    // ranges written so far
  size_t limit = count;  // no range at or past this is started (the first failure, or stop)
  std::vector<std::optional<Result>> done(count);
  std::vector<std::exception_ptr> failed(count);

  auto work = [&] {
    for (;;) {
      size_t i = 0;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return next >= limit || next < written + window; });
        if (next >= limit) return;
        i = next++;
      }
      std::optional<Result> result;
      std::exception_ptr error;
      try {
        result.emplace(convert(i));
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard lock(mu);
        if (error) {
          failed[i] = error;
          limit = std::min(limit, i + 1);
        } else {
          done[i] = std::move(result);
        }
      }
      cv.notify_all();
    }
  };
  std::vector<std::thread> workers;
  auto stop = [&] {
    {
      std::lock_guard lock(mu);
      limit = 0;
    }
    cv.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
  };
  try {
    for (int t = 0; t < std::max(1, threads); ++t) workers.emplace_back(work);
    for (size_t i = 0; i < count; ++i) {
      Result result;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return done[i].has_value() || failed[i] != nullptr; });
        if (failed[i]) std::rethrow_exception(failed[i]);
        result = std::move(*done[i]);
        done[i].reset();
      }
      write(i, std::move(result));
      {
        std::lock_guard lock(mu);
        written = i + 1;
      }
      cv.notify_all();
    }
  } catch (...) {
    stop();
    throw;
  }
  stop();
}

Schema SchemaOf(const std::vector<ColumnInfo>& columns) {
  Schema s;
  for (const auto& c : columns) s.push_back(c.schema);
  return s;
}

// Reads records of `reader` (already past the CSV header) into `group` until `max_rows` or the
// end; returns false at the end of the input.
bool ReadGroup(RecordReader& reader, Converter& conv, RowGroup& group, int64_t max_rows,
               std::vector<std::string_view>& fields, std::vector<std::optional<std::string_view>>& values,
               const std::vector<size_t>& order) {
  size_t ncols = group.columns.size();
  while (static_cast<int64_t>(group.rows()) < max_rows) {
    if (reader.csv()) {
      if (!reader.NextCsv(fields)) return false;
      if (fields.size() != ncols) Ragged(reader.line(), fields.size(), ncols);
      if (order.empty()) {
        for (size_t i = 0; i < ncols; ++i) conv.Field(group.columns[i], i, fields[i], reader.line());
      } else {
        for (size_t i = 0; i < ncols; ++i) conv.Field(group.columns[order[i]], order[i], fields[i], reader.line());
      }
    } else {
      if (!reader.NextJson(values, false)) return false;
      for (size_t col = 0; col < ncols; ++col) {
        if (values[col]) {
          conv.Field(group.columns[col], col, *values[col], reader.line());
        } else {
          group.columns[col].AppendMissing();
        }
      }
    }
  }
  return true;
}

[[noreturn]] void ReportBad(const Converter& conv, const std::vector<ColumnInfo>& columns) {
  std::string msg = std::to_string(conv.bad_count) + " value" + (conv.bad_count == 1 ? " does" : "s do") +
                    " not fit the column types: ";
  for (size_t i = 0; i < conv.bad.size(); ++i) {
    const auto& b = conv.bad[i];
    if (i > 0) msg += "; ";
    msg += "line " + std::to_string(b.line) + ", column " + Quote(columns[b.column].schema.name) + ": " +
           Quote(b.value) + " is not " + (columns[b.column].schema.type == ColumnType::kInteger ? "an " : "a ") +
           std::string(TypeName(columns[b.column].schema.type));
  }
  if (conv.bad_count > static_cast<int64_t>(conv.bad.size())) {
    msg += "; and " + std::to_string(conv.bad_count - static_cast<int64_t>(conv.bad.size())) + " more";
  }
  Fail(ErrorCode::kValidation, msg);
}

// Rows per group so that `threads` groups in flight stay within the budget.
int64_t GroupRows(const IngestOptions& o, size_t columns, double bytes_per_row) {
  double per_row = static_cast<double>(columns) * 17.0 + bytes_per_row * 1.5 + 16;
  double budget = static_cast<double>(o.memory_budget_bytes) / (2.0 * std::max(1, o.threads));
  return std::clamp<int64_t>(static_cast<int64_t>(budget / per_row), 1, kMaxGroupRows);
}

std::string ValueText(const ColumnarFile& file, const RowGroup& rows, size_t column, size_t row) {
  const ColumnChunk& c = rows.columns[column];
  switch (c.type) {
    case ColumnType::kInteger: return std::to_string(c.ints[row]);
    case ColumnType::kNumber: return FormatNumber(c.doubles[row]);
    case ColumnType::kBoolean: return c.ints[row] != 0 ? "true" : "false";
    case ColumnType::kDate: return FormatDate(c.ints[row]);
    case ColumnType::kDatetime: return FormatDatetime(c.ints[row]);
    case ColumnType::kCategory: {
      const auto& cats = file.schema()[column].categories;
      return c.codes[row] < cats.size() ? cats[c.codes[row]] : std::string();
    }
    case ColumnType::kText: return std::string(c.Text(row));
  }
  return {};
}

// Pass one over a byte range of CSV rows (no header) that starts at a record boundary.
struct ScanPart {
  int64_t begin = 0;
  int64_t end = -1;  // -1: to the end of the file
  int64_t line = 1;  // the line at `begin`; 1 when not yet known (see ScanCsv)
  int64_t rows = 0;
  int64_t end_line = 0;
  std::vector<Checkpoint> checkpoints;  // rows counted from the part's start
  std::vector<TypeInferrer> inferrers;
};

void ScanCsvPart(const std::string& path, const IngestOptions& options, char delimiter, size_t columns,
                 ScanPart& part) {
  RecordReader reader(path, options, part.begin, part.end < 0 ? -1 : part.end - part.begin, part.line, delimiter);
  part.inferrers.resize(columns);
  std::vector<std::string_view> fields;
  int64_t last_offset = -kCheckpointBytes;
  while (reader.NextCsv(fields)) {
    if (fields.size() != columns) Ragged(reader.line(), fields.size(), columns);
    if (part.rows % kCheckpointRows == 0 || reader.offset() - last_offset >= kCheckpointBytes) {
      part.checkpoints.push_back({reader.offset(), reader.line(), part.rows});
      last_offset = reader.offset();
    }
    for (size_t i = 0; i < columns; ++i) part.inferrers[i].Add(fields[i]);
    ++part.rows;
  }
  part.end_line = reader.end_line();
}

// The offset just after the first LF at or after `from`, or -1 when there is none.
int64_t NextLineStart(const std::string& path, int64_t from) {
  FileSource source(path, from);
  std::vector<char> buf(64 << 10);
  int64_t at = from;
  for (;;) {
    size_t got = source.Read(buf.data(), buf.size());
    if (got == 0) return -1;
    if (const void* lf = std::memchr(buf.data(), '\n', got); lf != nullptr) {
      return at + (static_cast<const char*>(lf) - buf.data()) + 1;
    }
    at += static_cast<int64_t>(got);
  }
}

// Below this many bytes per thread, pass one reads the rows on one thread.
constexpr int64_t kMinScanPartBytes = 4 << 20;

// Pass one over the CSV rows from `begin` (after the header, at `line`): on `threads` threads, each
// reading a part cut at a line break, when the file is big enough. Cutting at a line break
// without knowing the quoting is safe only when the break is not inside a quoted field, and the
// parts prove it: the first part starts at a true record boundary, and a part that starts at one
// and reads to its end without an error (an open quote at the end is an error) ends at one, which
// is where the next part starts. So when every part succeeds, the result is the sequential one;
// when any part fails (a cut inside a quoted field, or a real error in the file), the rows are
// read again on one thread, which reports the real error with its true line.
ScanPart ScanCsv(const std::string& path, const IngestOptions& options, char delimiter, size_t columns, int64_t begin,
                 int64_t line) {
  auto size = static_cast<int64_t>(std::filesystem::file_size(path));
  int64_t want = options.threads > 1 ? std::min<int64_t>(options.threads, (size - begin) / kMinScanPartBytes) : 1;
  std::vector<ScanPart> parts(1);
  parts[0].begin = begin;
  parts[0].line = line;
  for (int64_t k = 1; k < want; ++k) {
    int64_t cut = NextLineStart(path, begin + (size - begin) * k / want);
    if (cut < 0 || cut >= size) break;
    if (cut <= parts.back().begin) continue;
    parts.back().end = cut;
    parts.emplace_back().begin = cut;
  }
  if (parts.size() > 1) {
    std::vector<std::future<void>> running;
    for (size_t k = 1; k < parts.size(); ++k) {
      running.push_back(std::async(std::launch::async, ScanCsvPart, std::cref(path), std::cref(options), delimiter,
                                   columns, std::ref(parts[k])));
    }
    bool ok = true;
    try {
      ScanCsvPart(path, options, delimiter, columns, parts[0]);
    } catch (...) {
      ok = false;
    }
    for (auto& r : running) {
      try {
        r.get();
      } catch (...) {
        ok = false;
      }
    }
    if (ok) {
      // Stitch: rows and lines of each part continue the previous part's.
      ScanPart& all = parts[0];
      for (size_t k = 1; k < parts.size(); ++k) {
        ScanPart& p = parts[k];
        int64_t line_shift = all.end_line - 1;  // p counted its lines from 1
        for (Checkpoint c : p.checkpoints) {
          c.line += line_shift;
          c.row += all.rows;
          all.checkpoints.push_back(c);
        }
        for (size_t i = 0; i < columns; ++i) all.inferrers[i].Merge(p.inferrers[i]);
        all.rows += p.rows;
        all.end_line = p.end_line + line_shift;
      }
      all.end = -1;
      return std::move(all);
    }
  }
  ScanPart all;
  all.begin = begin;
  all.line = line;
  ScanCsvPart(path, options, delimiter, columns, all);
  return all;
}

// Thrown inside the one pass when it cannot give the file the two passes would.
struct NeedTwoPasses {};

// Columns of one range that may turn to strings after their first row before the file is left
// to the two passes.
constexpr int kMaxRereads = 4;
// Records per block of the one pass: a block's fields (16 bytes each) stay in the CPU's cache
// while its columns are converted one after the other.
constexpr size_t kBlockRows = 256;

// One range of the one pass: its columns converted while their types were inferred.
struct GuessedRange {
  std::vector<ColumnGuess> columns;
};

// Converts the CSV rows in [begin, end) (end -1: to the end of the file) into one guess per
// column. A range that does not read as whole records of the header's width, or holds more than
// `max_rows` rows (more than the memory budget allows), throws NeedTwoPasses.
GuessedRange GuessRange(const std::string& path, const IngestOptions& options, char delimiter, size_t columns,
                        int64_t begin, int64_t end, int64_t line, int64_t max_rows, RowGroup storage) {
  int64_t length = end < 0 ? -1 : end - begin;
  RecordReader reader(path, options, begin, length, line, delimiter);
  GuessedRange range;
  range.columns.reserve(columns);
  storage.columns.resize(columns);
  for (auto& chunk : storage.columns) {
    range.columns.emplace_back(InferOptions{}, std::move(chunk), static_cast<size_t>(max_rows / 2));
  }
  // A block of records at a time, converted a column at a time: each column's fields go through
  // one tight loop while its type holds (see ColumnGuess::AddMany).
  std::vector<std::string_view> block;
  std::vector<size_t> ends;
  std::vector<std::string_view> again;
  int64_t rows = 0;
  int rereads = 0;
  try {
    while (size_t n = reader.NextBlock(block, ends, kBlockRows)) {
      for (size_t r = 0; r < n; ++r) {
        if (ends[r] != (r + 1) * columns) throw NeedTwoPasses{};
      }
      if (rows + static_cast<int64_t>(n) > max_rows) throw NeedTwoPasses{};
      for (size_t c = 0; c < columns; ++c) {
        ColumnGuess& guess = range.columns[c];
        if (guess.AddMany(block.data() + c, columns, n) == n) [[likely]] {
          continue;
        }
        // The column turns to strings: its earlier fields are read again as strings. Each time
        // costs up to a range's reading, so a range that would need many (a wide file whose
        // columns turn late) is left to the two passes.
        if (++rereads > kMaxRereads) throw NeedTwoPasses{};
        guess.Restart();
        RecordReader earlier(path, options, begin, length, line, delimiter);
        for (int64_t r = 0; r < rows && earlier.NextCsv(again); ++r) guess.Add(again[c]);
        guess.AddMany(block.data() + c, columns, n);  // strings take every field
      }
      rows += static_cast<int64_t>(n);
    }
  } catch (const core::Error&) {
    throw NeedTwoPasses{};  // the two passes find the problem again and report its true line
  }
  for (auto& guess : range.columns) guess.Finish();
  return range;
}

// What the one pass knows of a column after the ranges written so far.
struct GuessedColumn {
  TypeInferrer merged;
  bool month_first_differs = false;  // some range stored a date that reads differently day first
};

// Fits `guess`'s chunk to the type the column is written as (`want`), or throws NeedTwoPasses;
// category codes are renumbered into the merged dictionary, which learns the range's values.
void FitToWritten(ColumnGuess& guess, ColumnType want, GuessedColumn& column) {
  ColumnChunk& chunk = guess.chunk();
  if (chunk.type != want) {
    if (std::find(chunk.valid.begin(), chunk.valid.end(), uint8_t{1}) == chunk.valid.end()) {
      size_t rows = chunk.size();
      chunk.Clear();
      chunk.type = want;
      for (size_t r = 0; r < rows; ++r) chunk.AppendMissing();
    } else if (chunk.type == ColumnType::kInteger && want == ColumnType::kNumber) {
      guess.ToNumbers();
    } else if (chunk.type == ColumnType::kCategory && want == ColumnType::kText) {
      guess.ToText();
    } else {
      throw NeedTwoPasses{};
    }
  }
  if (want != ColumnType::kCategory || !guess.strings()) return;
  const auto& levels = guess.inferrer().levels();
  std::vector<uint32_t> code(levels.size());
  bool same = true;
  for (size_t i = 0; i < levels.size(); ++i) {
    code[i] = column.merged.AddLevel(levels[i]);
    // Written as categories, but too many values for one.
    if (code[i] == TypeInferrer::kNoLevel) throw NeedTwoPasses{};
    same = same && code[i] == i;
  }
  if (!same) {
    for (size_t r = 0; r < chunk.codes.size(); ++r) {
      if (chunk.valid[r] != 0) chunk.codes[r] = code[chunk.codes[r]];
    }
  }
}

// Reads the CSV rows from `begin` (after the header, at `line`) once and writes the dataset file;
// see ingest.h. Returns false, leaving nothing behind, when the file needs the two passes.
bool IngestCsvOnce(const std::string& path, const std::string& data_path, const IngestOptions& options,
                   const std::vector<std::string>& names, char delimiter, int64_t begin, int64_t line,
                   IngestResult& result) {
  const size_t ncols = names.size();
  auto size = static_cast<int64_t>(std::filesystem::file_size(path));
  // Bytes per row from the first rows, to cut ranges of about a row group each.
  int64_t sampled = 0;
  int64_t sample_end = begin;
  try {
    RecordReader sample(path, options, begin, std::min<int64_t>(size - begin, 1 << 20), line, delimiter);
    std::vector<std::string_view> fields;
    while (sampled < 1000 && sample.NextCsv(fields)) {
      ++sampled;
      sample_end = sample.end_offset();
    }
  } catch (const core::Error&) {
    // A record cut by the sample's end, or a problem that the two passes will report.
  }
  if (sampled == 0) return false;
  double bytes_per_row = static_cast<double>(sample_end - begin) / static_cast<double>(sampled);
  auto range_bytes = std::max<int64_t>(
      16 << 10, static_cast<int64_t>(static_cast<double>(GroupRows(options, ncols, bytes_per_row)) * bytes_per_row));
  // A range may hold twice the rows the sample promises (GroupRows leaves that headroom); one
  // with more is denser than the budget allows, and the file takes the two passes.
  int64_t max_rows = 2 * static_cast<int64_t>(static_cast<double>(range_bytes) / bytes_per_row) + 16;

  struct Range {
    int64_t begin;
    int64_t end;  // -1: to the end of the file
  };
  std::vector<Range> ranges{{begin, -1}};
  while (size - ranges.back().begin > range_bytes) {
    int64_t cut = NextLineStart(path, ranges.back().begin + range_bytes);
    if (cut < 0 || cut >= size) break;
    // A range far longer than planned (few line breaks) would hold more than the budget.
    if (cut - ranges.back().begin > 4 * range_bytes) return false;
    ranges.back().end = cut;
    ranges.push_back({cut, -1});
  }
  if (size - ranges.back().begin > 4 * range_bytes) return false;

  std::vector<ColumnInfo> placeholder(ncols);
  GroupPool pool(placeholder);
  std::optional<ColumnarWriter> writer;
  std::vector<GuessedColumn> columns(ncols);
  auto convert = [&](size_t i) {
    const Range& r = ranges[i];
    return GuessRange(path, options, delimiter, ncols, r.begin, r.end, i == 0 ? line : 1, max_rows, pool.Take(0));
  };
  auto write = [&](size_t i, GuessedRange range) {
    if (!writer) {
      Schema schema;
      for (size_t c = 0; c < ncols; ++c) schema.push_back({names[c], range.columns[c].chunk().type, {}});
      writer.emplace(data_path, std::move(schema));
    }
    RowGroup group;
    for (size_t c = 0; c < ncols; ++c) {
      ColumnGuess& guess = range.columns[c];
      GuessedColumn& column = columns[c];
      FitToWritten(guess, writer->schema()[c].type, column);
      if (i == 0) {
        column.merged = std::move(guess.inferrer());
      } else {
        column.merged.Merge(guess.inferrer());
      }
      column.month_first_differs = column.month_first_differs || guess.month_first_differs();
      group.columns.push_back(std::move(guess.chunk()));
    }
    writer->Append(group);
    pool.Give(std::move(group));
  };
  try {
    ConvertInOrder<GuessedRange>(ranges.size(), options.threads, static_cast<size_t>(std::max(1, options.threads)) + 1,
                                 convert, write);
    if (!writer || writer->rows() == 0) return false;
    // Each column's type is what pass one would infer; the ranges must have been written as it.
    std::vector<ColumnInfo> inferred;
    for (size_t c = 0; c < ncols; ++c) {
      ColumnInfo info;
      info.schema = columns[c].merged.Result(names[c]);
      info.date_order = columns[c].merged.date_order();
      ColumnType written = writer->schema()[c].type;
      ColumnType want = info.schema.type;
      if (IsTime(want)) {
        if (written != ColumnType::kDatetime) return false;
        if (columns[c].month_first_differs && info.date_order == DateOrder::kDayFirst) return false;
        writer->SetDateType(c, want);
      } else if (written != want) {
        return false;
      } else if (want == ColumnType::kCategory) {
        writer->SetCategories(c, info.schema.categories);
      }
      inferred.push_back(std::move(info));
    }
    result.columns = std::move(inferred);
    result.rows = writer->rows();
    writer->Finish();
  } catch (const NeedTwoPasses&) {
    return false;
  }
  result.passes = 1;
  return true;
}

}  // namespace

std::string_view FormatName(SourceFormat f) {
  switch (f) {
    case SourceFormat::kCsv: return "csv";
    case SourceFormat::kJson: return "json";
    case SourceFormat::kNdjson: return "ndjson";
  }
  return "csv";
}

IngestResult Ingest(const std::string& source_path, const std::string& data_path, const IngestOptions& options) {
  IngestResult result;
  auto start = std::chrono::steady_clock::now();

  // Pass one: shape, column names, types, and checkpoints.
  std::vector<TypeInferrer> inferrers;
  std::vector<std::string> names;
  std::vector<Checkpoint> checkpoints;
  int64_t rows = 0;
  char delimiter = 0;
  {
    RecordReader reader(source_path, options);
    reader.SetMaxColumns(options.max_columns);
    std::vector<std::string_view> fields;
    std::vector<std::optional<std::string_view>> values;
    int64_t last_offset = -kCheckpointBytes;
    auto checkpoint = [&] {
      if (rows % kCheckpointRows == 0 || reader.offset() - last_offset >= kCheckpointBytes) {
        checkpoints.push_back({reader.offset(), reader.line(), rows});
        last_offset = reader.offset();
      }
    };
    if (reader.csv()) {
      if (!reader.NextCsv(fields)) Fail(ErrorCode::kValidation, "the file is empty: it needs a header row and rows");
      CheckHeader(fields);
      for (auto f : fields) names.emplace_back(TrimSpaces(f));
      delimiter = reader.delimiter();
      if (options.one_pass && IngestCsvOnce(source_path, data_path, options, names, delimiter, reader.end_offset(),
                                            reader.end_line(), result)) {
        result.delimiter = delimiter;
        result.convert_seconds = Since(start);
        return result;
      }
      ScanPart scan = ScanCsv(source_path, options, delimiter, names.size(), reader.end_offset(), reader.end_line());
      inferrers = std::move(scan.inferrers);
      checkpoints = std::move(scan.checkpoints);
      rows = scan.rows;
    } else {
      while (reader.NextJson(values, true)) {
        checkpoint();
        // New columns appear as they are first seen: earlier rows had no value there.
        while (inferrers.size() < values.size()) {
          inferrers.emplace_back();
          for (int64_t r = 0; r < rows; ++r) inferrers.back().Add("");
        }
        for (size_t i = 0; i < values.size(); ++i) inferrers[i].Add(values[i] ? *values[i] : std::string_view());
        ++rows;
      }
      names = reader.columns();
      if (rows == 0) Fail(ErrorCode::kValidation, "the file holds no records: it needs at least one object");
    }
    if (rows == 0) Fail(ErrorCode::kValidation, "the file has a header row but no rows");
  }
  for (size_t i = 0; i < names.size(); ++i) {
    ColumnInfo info;
    info.schema = inferrers[i].Result(names[i]);
    info.date_order = inferrers[i].date_order();
    result.columns.push_back(std::move(info));
  }
  inferrers.clear();
  result.rows = rows;
  result.delimiter = delimiter;
  result.scan_seconds = Since(start);

  // Pass two: convert and write, row groups cut at checkpoints.
  auto convert_start = std::chrono::steady_clock::now();
  ColumnarWriter writer(data_path, SchemaOf(result.columns));
  double bytes_per_row = static_cast<double>(std::filesystem::file_size(source_path)) / static_cast<double>(rows);
  int64_t group_rows = GroupRows(options, names.size(), bytes_per_row);

  // Ranges: consecutive checkpoints merged up to group_rows (a checkpoint range longer than that
  // is split by the reader itself, below).
  struct Range {
    Checkpoint begin;
    int64_t end_offset;  // -1: to the end of the file
    int64_t rows;
  };
  std::vector<Range> ranges;
  for (size_t i = 0; i < checkpoints.size();) {
    size_t j = i + 1;
    while (j < checkpoints.size() && checkpoints[j].row - checkpoints[i].row < group_rows) ++j;
    // checkpoints[j] (if any) starts the next range
    int64_t next_row = j < checkpoints.size() ? checkpoints[j].row : rows;
    ranges.push_back(
        {checkpoints[i], j < checkpoints.size() ? checkpoints[j].offset : -1, next_row - checkpoints[i].row});
    i = j;
  }

  GroupPool pool(result.columns);
  auto convert_range = [&](const Range& r) {
    std::vector<RowGroup> groups;
    int64_t length = r.end_offset < 0 ? -1 : r.end_offset - r.begin.offset;
    RecordReader reader(source_path, options, r.begin.offset, length, r.begin.line, delimiter);
    if (!reader.csv()) reader.SetColumns(names, options.max_columns);
    Converter conv;
    for (const auto& c : result.columns) conv.parsers.emplace_back(c.schema, c.date_order, false);
    std::vector<std::string_view> fields;
    std::vector<std::optional<std::string_view>> values;
    int64_t left = r.rows;
    while (left > 0) {
      RowGroup g = pool.Take(static_cast<size_t>(std::min(left, group_rows)));
      ReadGroup(reader, conv, g, std::min(left, group_rows), fields, values, {});
      if (g.rows() == 0) {
        pool.Give(std::move(g));
        break;
      }
      left -= static_cast<int64_t>(g.rows());
      groups.push_back(std::move(g));
    }
    if (conv.bad_count > 0) ReportBad(conv, result.columns);  // inference and conversion disagree: a bug
    return groups;
  };
  auto write_groups = [&](std::vector<RowGroup> groups) {
    for (auto& g : groups) {
      writer.Append(g);
      pool.Give(std::move(g));
    }
  };

  if (options.format == SourceFormat::kJson) {
    // A JSON array cannot be entered mid-way: one reader, groups as they fill.
    RecordReader reader(source_path, options);
    reader.SetColumns(names, options.max_columns);
    Converter conv;
    for (const auto& c : result.columns) conv.parsers.emplace_back(c.schema, c.date_order, false);
    std::vector<std::string_view> fields;
    std::vector<std::optional<std::string_view>> values;
    bool more = true;
    while (more) {
      RowGroup g = pool.Take(static_cast<size_t>(std::min(rows, group_rows)));
      more = ReadGroup(reader, conv, g, group_rows, fields, values, {});
      if (g.rows() > 0) writer.Append(g);
      pool.Give(std::move(g));
    }
    if (conv.bad_count > 0) ReportBad(conv, result.columns);
  } else if (options.threads <= 1) {
    for (const auto& r : ranges) write_groups(convert_range(r));
  } else {
    // `threads` workers convert ranges while this thread writes the finished ones in order; one
    // range ahead per worker plus the one being written stays within the memory budget, which
    // GroupRows halves for headroom.
    auto threads = static_cast<size_t>(options.threads);
    ConvertInOrder<std::vector<RowGroup>>(
        ranges.size(), options.threads, threads + 1, [&](size_t i) { return convert_range(ranges[i]); },
        [&](size_t, std::vector<RowGroup> groups) { write_groups(std::move(groups)); });
  }
  if (writer.rows() != rows) {
    Fail(ErrorCode::kInternal,
         "conversion read " + std::to_string(writer.rows()) + " rows, expected " + std::to_string(rows));
  }
  writer.Finish();
  result.convert_seconds = Since(convert_start);
  return result;
}

AppendResult AppendRows(const ColumnarFile& existing, const std::vector<ColumnInfo>& columns,
                        const std::string& source_path, const std::string& out_path, const IngestOptions& options) {
  AppendResult result;
  result.columns = columns;
  std::vector<std::string> names;
  names.reserve(columns.size());
  for (const auto& c : columns) names.push_back(c.schema.name);

  ColumnarWriter writer(out_path, SchemaOf(columns));
  writer.CopyGroups(existing);

  RecordReader reader(source_path, options);
  std::vector<size_t> order;  // CSV: file column i -> dataset column order[i]
  std::vector<std::string_view> fields;
  std::vector<std::optional<std::string_view>> values;
  if (reader.csv()) {
    if (!reader.NextCsv(fields)) Fail(ErrorCode::kValidation, "the file is empty: it needs a header row and rows");
    CheckHeader(fields);
    std::unordered_map<std::string, size_t> index;
    for (size_t i = 0; i < names.size(); ++i) index.emplace(names[i], i);
    std::vector<std::string> unknown;
    std::vector<bool> present(names.size(), false);
    for (auto f : fields) {
      auto it = index.find(std::string(TrimSpaces(f)));
      if (it == index.end()) {
        unknown.emplace_back(TrimSpaces(f));
        continue;
      }
      order.push_back(it->second);
      present[it->second] = true;
    }
    std::vector<std::string> absent;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!present[i]) absent.push_back(names[i]);
    }
    if (!unknown.empty() || !absent.empty()) {
      std::string msg = "the new rows' columns must be the dataset's columns";
      auto list = [](const std::vector<std::string>& v) {
        std::string s;
        for (size_t i = 0; i < v.size() && i < kMaxReported; ++i) s += (i ? ", " : "") + Quote(v[i]);
        return s;
      };
      if (!absent.empty()) msg += "; missing: " + list(absent);
      if (!unknown.empty()) msg += "; not in the dataset: " + list(unknown);
      Fail(ErrorCode::kValidation, msg);
    }
  } else {
    reader.SetColumns(names, names.size());
  }

  Converter conv;
  for (const auto& c : columns) conv.parsers.emplace_back(c.schema, c.date_order, true);
  int64_t group_rows = GroupRows(options, names.size(), 64);
  int64_t added = 0;
  bool more = true;
  while (more) {
    RowGroup g = NewGroup(columns, static_cast<size_t>(group_rows));
    more = ReadGroup(reader, conv, g, group_rows, fields, values, order);
    if (conv.bad_count > 0) continue;  // keep reading to count and report every problem
    if (g.rows() == 0) continue;
    for (size_t c = 0; c < columns.size(); ++c) {
      if (columns[c].schema.type == ColumnType::kCategory) {
        if (conv.parsers[c].categories().size() > kMaxCategoryLevels) {
          Fail(ErrorCode::kValidation, "column " + Quote(names[c]) + " would have more than " +
                                           std::to_string(kMaxCategoryLevels) + " categories");
        }
        writer.SetCategories(c, conv.parsers[c].categories());
      }
    }
    writer.Append(g);
    added += static_cast<int64_t>(g.rows());
  }
  if (conv.bad_count > 0) ReportBad(conv, columns);
  if (added == 0) Fail(ErrorCode::kValidation, "the file has no rows to append");
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].schema.type == ColumnType::kCategory) {
      result.columns[c].schema.categories = conv.parsers[c].categories();
    }
  }
  writer.Finish();
  result.rows_added = added;
  return result;
}

std::vector<ColumnInfo> ChangeTypes(const ColumnarFile& existing, const std::vector<ColumnInfo>& columns,
                                    const std::map<std::string, ColumnType>& changes, const std::string& out_path) {
  std::vector<ColumnInfo> out = columns;
  std::vector<size_t> changed;
  for (size_t c = 0; c < out.size(); ++c) {
    auto it = changes.find(out[c].schema.name);
    if (it == changes.end() || it->second == out[c].schema.type) continue;
    out[c].schema.type = it->second;
    out[c].schema.categories.clear();
    changed.push_back(c);
  }
  // Conversion first, into memory-bounded groups; the writer learns the final dictionaries at
  // the end, so a column turned into a category is converted in one pass.
  std::vector<ValueParser> parsers;
  parsers.reserve(out.size());
  for (const auto& c : out) parsers.emplace_back(c.schema, c.date_order, true);
  struct Problem {
    int64_t count = 0;
    std::vector<std::pair<int64_t, std::string>> first;
  };
  std::map<size_t, Problem> problems;
  ColumnarWriter writer(out_path, SchemaOf(out));
  for (size_t g = 0; g < existing.row_groups(); ++g) {
    RowGroup rows = existing.ReadRows(existing.group_first_row(g), existing.group_rows(g));
    for (size_t c : changed) {
      ColumnChunk converted(out[c].schema.type);
      converted.Reserve(rows.rows());
      for (size_t r = 0; r < rows.rows(); ++r) {
        if (!rows.columns[c].IsValid(r)) {
          converted.AppendMissing();
          continue;
        }
        std::string text = ValueText(existing, rows, c, r);
        if (!parsers[c].Append(converted, text)) {
          auto& p = problems[c];
          ++p.count;
          if (p.first.size() < 5) p.first.emplace_back(existing.group_first_row(g) + static_cast<int64_t>(r), text);
        }
      }
      if (out[c].schema.type == ColumnType::kCategory && parsers[c].categories().size() > kMaxCategoryLevels) {
        Fail(ErrorCode::kValidation, "column " + Quote(out[c].schema.name) + " has more than " +
                                         std::to_string(kMaxCategoryLevels) +
                                         " distinct values: too many for a category (use text)");
      }
      rows.columns[c] = std::move(converted);
    }
    if (!problems.empty()) continue;
    for (size_t c : changed) {
      if (out[c].schema.type == ColumnType::kCategory) writer.SetCategories(c, parsers[c].categories());
    }
    writer.Append(rows);
  }
  if (!problems.empty()) {
    std::string msg;
    for (const auto& [c, p] : problems) {
      if (!msg.empty()) msg += "; ";
      msg += "column " + Quote(out[c].schema.name) + ": " + std::to_string(p.count) + " value" +
             (p.count == 1 ? " does" : "s do") + " not fit " + std::string(TypeName(out[c].schema.type)) + " (";
      for (size_t i = 0; i < p.first.size(); ++i) {
        msg += (i ? ", " : "") + std::string("row ") + std::to_string(p.first[i].first + 1) + ": " +
               Quote(p.first[i].second);
      }
      msg += ")";
    }
    Fail(ErrorCode::kValidation, msg);
  }
  for (size_t c : changed) {
    if (out[c].schema.type == ColumnType::kCategory) out[c].schema.categories = parsers[c].categories();
  }
  writer.Finish();
  return out;
}

json ValueJson(const ColumnarFile& file, const RowGroup& rows, size_t column, size_t row) {
  const ColumnChunk& c = rows.columns[column];
  if (!c.IsValid(row)) return nullptr;
  switch (c.type) {
    case ColumnType::kInteger: return c.ints[row];
    case ColumnType::kNumber: return c.doubles[row];
    case ColumnType::kBoolean: return c.ints[row] != 0;
    default: return ValueText(file, rows, column, row);
  }
}

json RowsJson(const ColumnarFile& file, int64_t offset, int64_t limit) {
  RowGroup rows = file.ReadRows(offset, limit);
  json out = json::array();
  for (size_t r = 0; r < rows.rows(); ++r) {
    json row = json::array();
    for (size_t c = 0; c < rows.columns.size(); ++c) row.push_back(ValueJson(file, rows, c, r));
    out.push_back(std::move(row));
  }
  return out;
}

void WriteCsv(const ColumnarFile& file, const std::function<bool(std::string)>& sink) {
  auto append_field = [](std::string& out, std::string_view v) {
    bool quote =
        v.find_first_of(",\"\r\n") != std::string_view::npos || (!v.empty() && (v.front() == ' ' || v.back() == ' '));
    if (!quote) {
      out.append(v);
      return;
    }
    out += '"';
    for (char ch : v) {
      if (ch == '"') out += '"';
      out += ch;
    }
    out += '"';
  };
  std::string buf;
  const auto& schema = file.schema();
  for (size_t c = 0; c < schema.size(); ++c) {
    if (c > 0) buf += ',';
    append_field(buf, schema[c].name);
  }
  buf += "\r\n";
  for (size_t g = 0; g < file.row_groups(); ++g) {
    RowGroup rows = file.ReadRows(file.group_first_row(g), file.group_rows(g));
    for (size_t r = 0; r < rows.rows(); ++r) {
      for (size_t c = 0; c < rows.columns.size(); ++c) {
        if (c > 0) buf += ',';
        if (rows.columns[c].IsValid(r)) append_field(buf, ValueText(file, rows, c, r));
      }
      buf += "\r\n";
      if (buf.size() >= (1 << 20)) {
        if (!sink(std::move(buf))) return;
        buf.clear();
      }
    }
  }
  if (!buf.empty()) sink(std::move(buf));
}

}  // namespace playground::data
