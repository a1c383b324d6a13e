// The dataset file: a table stored column by column in row groups, written once by the ingestion
// pipeline and then memory-mapped for previews, downloads, profiles and training. The layout is
// described in docs/dataset-format.md; every block carries a checksum and the reader never trusts
// a size or offset it has not checked against the file.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/types.h"

struct XXH3_state_s;

namespace playground::data {

class ColumnarFile;

// One column of one row group as stored: spans into the file's mapping, valid while the
// ColumnarFile that made it lives. Row i is at index i of the span of the column's type
// (ints() for integer, boolean, date and datetime; doubles() for number; codes() for category;
// Text(i) for text); a missing row holds 0 or an empty string there.
// Thread-compatible (an immutable value; copies are cheap).
class ColumnView {
 public:
  ColumnType type = ColumnType::kText;
  int64_t rows = 0;
  int64_t missing = 0;  // rows whose IsValid() is false

  bool IsValid(int64_t i) const {
    return validity_.empty() || ((validity_[static_cast<size_t>(i >> 3)] >> (i & 7)) & 1) != 0;
  }
  // One bit per row, least significant bit first; empty when no row is missing.
  std::span<const uint8_t> validity() const { return validity_; }
  std::span<const int64_t> ints() const { return ints_; }
  std::span<const double> doubles() const { return doubles_; }
  std::span<const uint32_t> codes() const { return codes_; }
  std::string_view Text(int64_t i) const {
    auto row = static_cast<size_t>(i);
    uint64_t begin = row == 0 ? 0 : ends_[row - 1];
    return text_.substr(begin, ends_[row] - begin);
  }

 private:
  friend class ColumnarFile;
  std::span<const uint8_t> validity_;
  std::span<const int64_t> ints_;
  std::span<const double> doubles_;
  std::span<const uint32_t> codes_;
  std::span<const uint64_t> ends_;
  std::string_view text_;
};

// Writes a dataset file: the row groups in order, then Finish() makes it visible under its name.
// Until then the data goes to `path + ".tmp"`, which the destructor removes, so that a failed
// ingest leaves nothing behind. Every method throws core::Error (kInternal) on an I/O error or
// when called with data that does not match the schema (a bug in the caller).
// Thread-compatible: one thread at a time.
class ColumnarWriter {
 public:
  ColumnarWriter(std::string path, Schema schema);
  ~ColumnarWriter();
  ColumnarWriter(const ColumnarWriter&) = delete;
  ColumnarWriter& operator=(const ColumnarWriter&) = delete;

  // Writes `group` (one chunk per schema column, of the column's type) as the next row group with
  // large writes straight from its vectors. A group without rows is skipped.
  void Append(const RowGroup& group);
  // Copies every row group of `from` byte for byte (checking each block's checksum on the way),
  // after the groups written so far. `from` must have the same column names and types, and each
  // of its dictionaries must be a prefix of this writer's (see SetCategories).
  void CopyGroups(const ColumnarFile& from);
  // Replaces a category column's dictionary. The current dictionary must be a prefix of the new
  // one: codes already written never change meaning, new values go at the end.
  void SetCategories(size_t column, std::vector<std::string> categories);
  // Changes a column's type between date and datetime, which are stored alike (microseconds).
  void SetDateType(size_t column, ColumnType type);

  // Writes the footer, flushes the file to disk, renames it to `path` (atomically replacing any
  // file there) and flushes the directory. No method may be called afterwards.
  void Finish();

  const Schema& schema() const { return schema_; }
  int64_t rows() const { return rows_; }
  const std::string& path() const { return path_; }

 private:
  struct Block {
    uint64_t offset = 0;
    uint64_t length = 0;  // without the padding to 8 bytes
    uint64_t missing = 0;
    uint64_t checksum = 0;
  };
  struct StateDeleter {
    void operator()(XXH3_state_s* state) const;
  };

  void CheckOpen() const;
  void WriteAll(const void* data, size_t size);
  [[noreturn]] void FailIo(const std::string& what) const;

  std::string path_;
  std::string tmp_path_;
  Schema schema_;
  int fd_ = -1;
  bool finished_ = false;
  uint64_t pos_ = 0;  // bytes written so far; the next block starts here
  int64_t rows_ = 0;
  std::vector<int64_t> group_rows_;
  std::vector<Block> blocks_;         // group-major: group g, column c at g * columns + c
  std::vector<uint64_t> code_bound_;  // per column: 1 + the largest category code written
  std::unique_ptr<XXH3_state_s, StateDeleter> hash_state_;
};

// A finished dataset file, memory-mapped read-only. Open() checks the header, the trailer, the
// footer checksum and every offset and size in the footer; column() checks the structure of the
// block it returns (text offsets, category codes, the missing count), so that a corrupt or
// truncated file is refused with core::Error kInternal ("dataset file ... is corrupt: ...") and
// never read out of bounds. Verify() additionally checks every block's checksum.
// Safe for concurrent use: it is immutable once opened.
class ColumnarFile {
 public:
  // Throws core::Error: kNotFound when there is no such file, kInternal when it cannot be read or
  // is corrupt.
  static std::unique_ptr<ColumnarFile> Open(const std::string& path);
  ~ColumnarFile();
  ColumnarFile(const ColumnarFile&) = delete;
  ColumnarFile& operator=(const ColumnarFile&) = delete;

  const std::string& path() const { return path_; }
  const Schema& schema() const { return schema_; }
  int64_t rows() const { return rows_; }
  size_t row_groups() const { return group_rows_.size(); }
  int64_t group_rows(size_t g) const { return group_rows_.at(g); }
  int64_t group_first_row(size_t g) const { return group_first_row_.at(g); }
  int64_t file_bytes() const { return static_cast<int64_t>(size_); }

  // Column `c` of row group `g`. Throws std::out_of_range for a bad index and core::Error
  // kInternal when the block is corrupt.
  ColumnView column(size_t g, size_t c) const;
  // Checks the checksum of every block (reads the whole file). Throws core::Error kInternal.
  void Verify() const;
  // A decoded copy of rows [offset, offset + limit) clamped to the table, across row groups.
  RowGroup ReadRows(int64_t offset, int64_t limit) const;

 private:
  friend class ColumnarWriter;  // CopyGroups reads the raw blocks
  struct Block {
    uint64_t offset = 0;
    uint64_t length = 0;
    uint64_t missing = 0;
    uint64_t checksum = 0;
  };

  ColumnarFile() = default;
  void Parse();
  [[noreturn]] void Corrupt(const std::string& why) const;
  const Block& block(size_t g, size_t c) const { return blocks_[g * schema_.size() + c]; }
  // Checks the checksum of block (g, c).
  void VerifyBlock(size_t g, size_t c) const;
  // The byte range of row group g: [begin, end).
  std::pair<uint64_t, uint64_t> GroupExtent(size_t g) const;

  std::string path_;
  const uint8_t* data_ = nullptr;  // the mapping, size_ bytes
  size_t size_ = 0;
  uint64_t footer_offset_ = 0;
  Schema schema_;
  int64_t rows_ = 0;
  std::vector<int64_t> group_rows_;
  std::vector<int64_t> group_first_row_;
  std::vector<Block> blocks_;  // group-major, like the footer
};

}  // namespace playground::data
