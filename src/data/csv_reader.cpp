#include "data/csv_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "core/error.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace playground::data {
namespace {

using core::ErrorCode;

constexpr size_t kSniffBytes = 64 << 10;
constexpr size_t kSniffRecords = 100;
constexpr size_t kMinBuffer = 8;

std::string Where(int64_t line, size_t column) {
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": ";
}

int64_t CountNewlines(const char* p, const char* end) { return std::count(p, end, '\n'); }

bool HasZeroByte(uint64_t w) { return ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL) != 0; }

// The first byte of [p, end) that is not part of valid UTF-8 or is NUL, or nullptr. ASCII, the
// common case, is checked eight bytes at a time.
const char* FindBadByte(const char* p, const char* end) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  const auto* e = reinterpret_cast<const unsigned char*>(end);
  while (u < e) {
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    while (e - u >= 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(u));
      if ((_mm_movemask_epi8(v) | _mm_movemask_epi8(_mm_cmpeq_epi8(v, zero))) != 0) break;
      u += 16;
    }
#endif
    while (e - u >= 8) {
      uint64_t w = 0;
      std::memcpy(&w, u, 8);
      if ((w & 0x8080808080808080ULL) != 0 || HasZeroByte(w)) break;
      u += 8;
    }
    if (u == e) break;
    unsigned c = *u;
    if (c < 0x80) {
      if (c == 0) return reinterpret_cast<const char*>(u);
      ++u;
      continue;
    }
    int more = 0;
    unsigned lo = 0x80;
    unsigned hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      more = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      more = 2;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      more = 3;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // beyond U+10FFFF
    } else {
      return reinterpret_cast<const char*>(u);
    }
    if (e - u <= more || u[1] < lo || u[1] > hi) return reinterpret_cast<const char*>(u);
    for (int i = 2; i <= more; ++i) {
      if (u[i] < 0x80 || u[i] > 0xBF) return reinterpret_cast<const char*>(u);
    }
    u += more + 1;
  }
  return nullptr;
}

// Fields per record of the sample under `delim`, quote-aware; at most kSniffRecords records.
// The last, possibly cut-off record counts only when it is the only one.
std::vector<size_t> SniffCounts(std::string_view sample, char delim, bool complete) {
  std::vector<size_t> counts;
  bool in_quote = false;
  size_t fields = 1;
  bool empty_line = true;
  for (char c : sample) {
    if (c == '"') {
      in_quote = !in_quote;
    } else if (!in_quote && (c == '\n' || c == '\r')) {
      if (!empty_line) counts.push_back(fields);
      if (counts.size() >= kSniffRecords) return counts;
      fields = 1;
      empty_line = true;
      continue;
    } else if (!in_quote && c == delim) {
      ++fields;
    }
    empty_line = false;
  }
  if (!empty_line && (complete || counts.empty())) counts.push_back(fields);
  return counts;
}

}  // namespace

// Inlined into ScanRecord, its only caller: it runs once per field, and the call cost more than
// a field's lookup in the cached block.
[[gnu::always_inline]] inline const char* CsvReader::FindSpecial(const char* p, const char* end) {
#if defined(__SSE2__)
  if (block_ != nullptr && p >= block_ && p < block_ + 16) {
    uint32_t rest = block_mask_ >> (p - block_);
    if (rest != 0) return p + __builtin_ctz(rest);
    p = block_ + 16;
  }
  // Sixteen bytes at a time: most fields end within the first block.
  const __m128i delimiter = _mm_set1_epi8(delimiter_);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hits = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, delimiter), _mm_cmpeq_epi8(v, quote)),
                                _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
    auto mask = static_cast<uint32_t>(_mm_movemask_epi8(hits));
    block_ = p;
    block_mask_ = mask;
    if (mask != 0) return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  while (p != end && special_[static_cast<uint8_t>(*p)] == 0) ++p;
  return p;
}

FileSource::FileSource(const std::string& path, int64_t offset, int64_t length)
    : path_(path), offset_(offset), remaining_(length) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    core::Fail(ErrorCode::kInternal,
               "cannot open " + path + ": " + std::error_code(errno, std::generic_category()).message());
  }
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

size_t FileSource::Read(char* buf, size_t n) {
  if (remaining_ >= 0) n = std::min<size_t>(n, static_cast<size_t>(remaining_));
  if (n == 0) return 0;
  for (;;) {
    ssize_t got = ::pread(fd_, buf, n, offset_);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      core::Fail(ErrorCode::kInternal,
                 "cannot read " + path_ + ": " + std::error_code(errno, std::generic_category()).message());
    }
    offset_ += got;
    if (remaining_ >= 0) remaining_ -= got;
    return static_cast<size_t>(got);
  }
}

size_t MemorySource::Read(char* buf, size_t n) {
  n = std::min(n, data_.size());
  std::memcpy(buf, data_.data(), n);
  data_.remove_prefix(n);
  return n;
}

CsvReader::CsvReader(ByteSource& source, CsvOptions options)
    : source_(source),
      options_(options),
      capacity_(std::max(options.buffer_bytes, kMinBuffer)),
      buf_offset_(options.start_offset),
      line_(options.start_line) {
  buf_ = std::make_unique<char[]>(capacity_);
  if (options_.start_offset == 0) {
    while (end_ < 3 && !eof_) Fill();
    if (end_ >= 3 && std::memcmp(buf_.get(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  }
  if (options_.delimiter == 0) {
    DetectDelimiter();
  } else {
    delimiter_ = options_.delimiter;
  }
  for (char c : {delimiter_, '"', '\r', '\n'}) special_[static_cast<uint8_t>(c)] = 1;
  field_start_ = buf_.get() + end_;
}

void CsvReader::Fill() {
  block_ = nullptr;  // the data moves
  char* base = buf_.get();
  if (pos_ > 0) {
    std::memmove(base, base + pos_, end_ - pos_);
    buf_offset_ += static_cast<int64_t>(pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ > capacity_ / 2) {
    // A record longer than half the buffer: grow, so that each rescan of it reads at least as
    // much again as it already has (the total scanning stays linear).
    size_t grown = capacity_ * 2;
    auto bigger = std::make_unique<char[]>(grown);
    std::memcpy(bigger.get(), base, end_);
    buf_ = std::move(bigger);
    capacity_ = grown;
  }
  size_t got = source_.Read(buf_.get() + end_, capacity_ - end_);
  if (got == 0) eof_ = true;
  end_ += got;
}

void CsvReader::DetectDelimiter() {
  size_t want = std::min(capacity_, kSniffBytes);
  while (end_ - pos_ < want && end_ < capacity_ && !eof_) Fill();
  std::string_view sample(buf_.get() + pos_, end_ - pos_);
  delimiter_ = ',';
  size_t best = 1;
  for (char candidate : {',', ';', '\t', '|'}) {
    std::vector<size_t> counts = SniffCounts(sample, candidate, eof_);
    if (counts.empty()) continue;
    bool consistent = std::all_of(counts.begin(), counts.end(), [&](size_t n) { return n == counts.front(); });
    if (consistent && counts.front() > best) {
      best = counts.front();
      delimiter_ = candidate;
    }
  }
}

bool CsvReader::Next(std::vector<std::string_view>& fields) {
  fields.clear();
  for (;;) {
    switch (ScanRecord(fields)) {
      case Scan::kRecord: return true;
      case Scan::kEnd: fields.clear(); return false;
      case Scan::kNeedMore: FillForRecord(); break;
    }
  }
}

size_t CsvReader::NextBlock(std::vector<std::string_view>& fields, std::vector<size_t>& ends, size_t max_records) {
  fields.clear();
  ends.clear();
  while (ends.size() < max_records) {
    Scan scan = ScanRecord(fields);
    if (scan == Scan::kRecord) {
      ends.push_back(fields.size());
    } else if (scan == Scan::kEnd || !ends.empty()) {
      break;  // a refill would move the records read so far: the next call makes it
    } else {
      FillForRecord();
    }
  }
  return ends.size();
}

void CsvReader::FillForRecord() {
  auto field_bytes = static_cast<size_t>(buf_.get() + end_ - field_start_);
  if (field_bytes > options_.max_field_bytes) {
    std::string msg =
        Where(scan_line_, open_field_ + 1) + "a field is longer than " + core::FormatBytes(options_.max_field_bytes);
    if (quote_line_ != 0) msg += " (is a closing quote missing?)";
    core::Fail(ErrorCode::kPayloadTooLarge, msg);
  }
  if (end_ - pos_ > options_.max_record_bytes) {
    FailLimit("a record is longer than " + core::FormatBytes(options_.max_record_bytes), line_);
  }
  Fill();
}

CsvReader::Scan CsvReader::ScanRecord(std::vector<std::string_view>& fields) {
  char* const base = buf_.get();
  const char* p = base + pos_;
  const char* const end = base + end_;
  const size_t first = fields.size();  // the record's fields go after these
  escaped_.clear();
  quote_line_ = 0;
  open_field_ = 0;
  field_start_ = p;

  // Empty lines between records are skipped for good, so a rescan does not see them again.
  for (;;) {
    if (p == end) return eof_ ? Scan::kEnd : Scan::kNeedMore;
    if (*p == '\n') {
      ++p;
    } else if (*p == '\r') {
      if (p + 1 == end && !eof_) return Scan::kNeedMore;
      p += (p + 1 != end && p[1] == '\n') ? 2 : 1;
    } else {
      break;
    }
    ++line_;
    pos_ = static_cast<size_t>(p - base);
    field_start_ = p;
  }

  const char* const record_start = p;
  int64_t line = line_;
  // The field being read: where and on which line it starts, and its index in the record. Kept
  // in locals, and left for FillForRecord only when the data runs out (a few times per buffer).
  const char* field_begin = p;
  int64_t field_line = line;
  size_t field = 0;
  auto need_more = [&] {
    open_field_ = field;
    field_start_ = field_begin;
    scan_line_ = field_line;
    fields.resize(first);  // nothing is consumed
    return Scan::kNeedMore;
  };
  for (;; ++field) {  // one field per iteration
    field_begin = p;
    field_line = line;
    if (field >= options_.max_columns) {
      FailLimit("a record has more than " + std::to_string(options_.max_columns) + " columns", line_);
    }
    char c = 0;
    if (p != end && *p == '"') {
      quote_line_ = line;
      const char* begin = ++p;
      for (;;) {
        const auto* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
        line += CountNewlines(p, q != nullptr ? q : end);
        if (q == nullptr) {
          if (!eof_) return need_more();
          core::Fail(ErrorCode::kValidation,
                     Where(quote_line_, field + 1) + "a quoted field is not closed (unterminated quote)");
        }
        if (q + 1 == end && !eof_) return need_more();
        if (q + 1 != end && q[1] == '"') {
          if (escaped_.empty() || escaped_.back() != field) escaped_.push_back(field);
          p = q + 2;
          continue;
        }
        fields.emplace_back(begin, static_cast<size_t>(q - begin));
        p = q + 1;
        break;
      }
      quote_line_ = 0;
      if (p != end) {
        c = *p;
        if (c != delimiter_ && c != '\n' && c != '\r') {
          core::Fail(ErrorCode::kValidation, Where(line, field + 1) +
                                                 "characters after the closing quote of a quoted field (a quote "
                                                 "inside a field must be doubled)");
        }
      }
    } else {
      const char* begin = p;
      p = FindSpecial(p, end);
      if (p == end && !eof_) return need_more();
      if (p != end) {
        c = *p;
        if (c == '"') {
          core::Fail(
              ErrorCode::kValidation,
              Where(line, field + 1) + "a quote inside an unquoted field (quote the whole field and double the quote)");
        }
      }
      fields.emplace_back(begin, static_cast<size_t>(p - begin));
    }
    if (p == end) break;  // the last record, without a line break
    if (c == delimiter_) {
      ++p;
      continue;
    }
    // A line break ends the record.
    if (c == '\r') {
      if (p + 1 == end && !eof_) return need_more();
      ++p;
      if (p != end && *p == '\n') ++p;
    } else {
      ++p;
    }
    ++line;
    break;
  }

  auto record_bytes = static_cast<size_t>(p - record_start);
  if (record_bytes > options_.max_record_bytes) {
    FailLimit("a record is longer than " + core::FormatBytes(options_.max_record_bytes), line_);
  }
  // No field is longer than its record: the fields are looked at only in a record that is.
  if (record_bytes > options_.max_field_bytes) {
    for (size_t i = first; i < fields.size(); ++i) {
      if (fields[i].size() > options_.max_field_bytes) {
        int64_t at = line_ + CountNewlines(record_start, fields[i].data());
        core::Fail(ErrorCode::kPayloadTooLarge,
                   Where(at, i - first + 1) + "a field is longer than " + core::FormatBytes(options_.max_field_bytes));
      }
    }
  }
  if (const char* bad = FindBadByte(record_start, p); bad != nullptr) {
    int64_t bad_line = line_ + CountNewlines(record_start, bad);
    size_t column = fields.size() - first;
    for (size_t i = first; i < fields.size(); ++i) {
      if (bad < fields[i].data() + fields[i].size()) {
        column = i - first + 1;
        break;
      }
    }
    if (*bad == '\0') {
      core::Fail(ErrorCode::kValidation, Where(bad_line, column) + "a NUL byte (this looks like a binary file)");
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(*bad)));
    core::Fail(ErrorCode::kValidation,
               Where(bad_line, column) + "invalid UTF-8 (byte " + hex + "); save the file as UTF-8");
  }
  for (size_t i : escaped_) {
    // Unescape in place: the result is shorter, and these bytes are not scanned again.
    std::string_view& f = fields[first + i];
    char* out = base + (f.data() - base);
    const char* in = f.data();
    const char* in_end = in + f.size();
    char* w = out;
    while (in != in_end) {
      char ch = *in++;
      *w++ = ch;
      if (ch == '"') ++in;  // the second quote of a doubled pair
    }
    f = std::string_view(out, static_cast<size_t>(w - out));
  }
  record_line_ = line_;
  record_offset_ = buf_offset_ + static_cast<int64_t>(pos_);
  line_ = line;
  pos_ = static_cast<size_t>(p - base);
  return Scan::kRecord;
}

void CsvReader::FailLimit(const std::string& what, int64_t line) {
  core::Fail(ErrorCode::kPayloadTooLarge, what + " (line " + std::to_string(line) + ")");
}

}  // namespace playground::data
