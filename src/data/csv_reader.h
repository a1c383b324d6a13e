// Streaming readers' byte input, and the CSV reader: RFC 4180 records from a file of any size in
// bounded memory, fast enough that parsing is not what an upload waits for. Malformed input is
// reported as core::Error (kValidation with the line and column; kPayloadTooLarge for limits).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace playground::data {

// Where a reader's bytes come from. Thread-compatible.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Copies up to `n` bytes into `buf`; returns how many, 0 only at the end. May return fewer than
  // asked before the end; readers are fastest when it returns big chunks.
  virtual size_t Read(char* buf, size_t n) = 0;
};

// A byte range of a file, read with pread(2) (so several sources may read one file at once).
// Thread-compatible. Throws core::Error kInternal when the file cannot be opened or read.
class FileSource : public ByteSource {
 public:
  // `length` -1: to the end of the file.
  explicit FileSource(const std::string& path, int64_t offset = 0, int64_t length = -1);
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  size_t Read(char* buf, size_t n) override;

 private:
  std::string path_;
  int fd_ = -1;
  int64_t offset_;
  int64_t remaining_;  // -1: unbounded
};

// Bytes already in memory; `data` must outlive the source. Thread-compatible.
class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  size_t Read(char* buf, size_t n) override;

 private:
  std::string_view data_;
};

struct CsvOptions {
  char delimiter = 0;  // 0: detect among , ; \t | from the first 64 KiB
  size_t max_field_bytes = 16 << 20;
  size_t max_columns = 20000;
  size_t max_record_bytes = 64 << 20;
  // For a reader that starts at a record boundary inside a file (the offset() of a record seen by
  // an earlier reader): where its source starts in the file and the line there, so that offset()
  // and line() and error messages speak of the whole file. A UTF-8 byte order mark is skipped
  // only at offset 0. Give `delimiter` too: detection on a fragment can choose differently.
  int64_t start_offset = 0;
  int64_t start_line = 1;
  // The size of the first read buffer; it grows only for a record that does not fit.
  size_t buffer_bytes = 1 << 20;
};

// Reads RFC 4180 records: fields separated by the delimiter, records by LF or CRLF (a lone CR
// too); a field in double quotes may hold delimiters, line breaks and doubled quotes ("" for ");
// a UTF-8 byte order mark at the start is skipped; the last record may lack a line break; empty
// lines are skipped (as pandas does). Every byte is checked to be UTF-8 and not NUL.
// Records may have different numbers of fields: the caller decides what that means.
//
// Errors (core::Error, thrown by Next): kValidation "line L, column C: ..." for an unterminated
// quote (the line where it opened), a quote inside an unquoted field, characters after a closing
// quote, invalid UTF-8 and NUL bytes; kPayloadTooLarge naming the limit for a field, a record or a
// column count beyond CsvOptions. Columns are 1-based field indexes. After an error the reader
// must not be used again.
//
// Thread-compatible.
class CsvReader {
 public:
  CsvReader(ByteSource& source, CsvOptions options = {});

  // Reads the next record into `fields` (cleared first); false at the end of the input. The views
  // point into the reader's buffer and stay valid until the next call.
  bool Next(std::vector<std::string_view>& fields);

  // Reads up to `max_records` records at once, for a caller that goes through them a column at a
  // time: their fields one after the other in `fields`, and in `ends` where each record's fields
  // end (record i is fields [ends[i-1], ends[i]), with ends[-1] = 0); both are cleared first.
  // Returns the number of records, 0 at the end of the input. The views stay valid until the next
  // call. A block stops early where the buffer would have to be refilled, so it may hold fewer
  // records than asked; line() and offset() are those of its last record.
  size_t NextBlock(std::vector<std::string_view>& fields, std::vector<size_t>& ends, size_t max_records);

  // Of the record Next returned last: the 1-based line where it started, and the byte offset of
  // its first byte (both counted from the start of the file, see CsvOptions::start_offset).
  int64_t line() const { return record_line_; }
  int64_t offset() const { return record_offset_; }
  char delimiter() const { return delimiter_; }
  // Where the input after that record starts: its byte offset and its line (after the line
  // break that ended the record, and after any empty lines Next skipped at the end).
  int64_t end_offset() const { return buf_offset_ + static_cast<int64_t>(pos_); }
  int64_t end_line() const { return line_; }

 private:
  enum class Scan : uint8_t { kRecord, kEnd, kNeedMore };

  void Fill();  // reads more, after compacting the buffer or growing it for a long record
  // Fill for a record that ScanRecord could not finish, after checking it is within the limits.
  void FillForRecord();
  void DetectDelimiter();
  // Scans the record at pos_, appending its fields to `fields`; on kNeedMore nothing is consumed
  // (`fields` is as it was) and the scan restarts after Fill.
  Scan ScanRecord(std::vector<std::string_view>& fields);
  // The first delimiter, quote, CR or LF in [p, end), or end.
  const char* FindSpecial(const char* p, const char* end);
  [[noreturn]] static void FailLimit(const std::string& what, int64_t line);

  ByteSource& source_;
  CsvOptions options_;
  char delimiter_ = ',';
  std::array<uint8_t, 256> special_{};  // 1 for the delimiter, ", CR and LF
  // FindSpecial's last 16-byte block and the positions of the special bytes in it: fields are
  // short, so the next field usually ends in the same block and needs no new comparison. Valid
  // until Fill moves the data (block_ null: none).
  const char* block_ = nullptr;
  uint32_t block_mask_ = 0;

  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  size_t pos_ = 0;  // start of the next record in buf_
  size_t end_ = 0;  // end of the data in buf_
  bool eof_ = false;
  int64_t buf_offset_ = 0;  // file offset of buf_[0]
  int64_t line_ = 1;        // line at pos_

  // Scan state: where a record in progress stands, for the error after the data runs out.
  int64_t scan_line_ = 0;   // line where the field being read starts
  int64_t quote_line_ = 0;  // line where an open quote started, 0 when none is open
  size_t open_field_ = 0;   // index of the field being read
  const char* field_start_ = nullptr;
  std::vector<size_t> escaped_;  // fields with doubled quotes to unescape

  int64_t record_line_ = 0;
  int64_t record_offset_ = 0;
};

}  // namespace playground::data
