#include "data/json_reader.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/error.h"

namespace playground::data {
namespace {

using core::ErrorCode;

constexpr size_t kMinBuffer = 8;
constexpr size_t kMaxQuoted = 64;  // bytes of a key quoted in an error message

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// What a JSON value starting with `c` is, for messages.
std::string Describe(char c) {
  switch (c) {
    case '{': return "an object";
    case '[': return "an array";
    case '"': return "a string";
    case 't':
    case 'f': return "a boolean";
    case 'n': return "null";
    case '-': return "a number";
    default: break;
  }
  if (c >= '0' && c <= '9') return "a number";
  if (c >= 0x20 && c < 0x7F) return std::string("'") + c + "'";
  return "a byte that is not JSON";
}

// Text from the input made safe for an error message: at most kMaxQuoted bytes, cut at a
// character boundary.
std::string Excerpt(std::string_view s) {
  if (s.size() <= kMaxQuoted) return std::string(s);
  size_t n = kMaxQuoted;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "...";
}

// nlohmann's messages may quote input bytes ("last read: ..."): keep them printable ASCII, so
// the message is valid UTF-8 whatever the input was.
std::string Printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c < 0x20 || c > 0x7E) c = '?';
  }
  return out;
}

// Collects one flat object's fields. Returns false to stop the parser at the first problem,
// which it records; the reader turns that into the error.
class RecordSax {
 public:
  using Json = nlohmann::json;

  RecordSax(std::vector<JsonField>& out, const JsonOptions& options) : out_(out), options_(options) {}

  bool null() { return Value(std::string(), true); }
  bool boolean(bool v) { return Value(std::string_view(v ? "true" : "false"), false); }
  bool number_integer(Json::number_integer_t v) { return Value(std::to_string(v), false); }
  bool number_unsigned(Json::number_unsigned_t v) { return Value(std::to_string(v), false); }
  bool number_float(Json::number_float_t /*v*/, const std::string& text) { return Value(text, false); }
  bool string(std::string& v) { return Value(std::move(v), false); }
  bool binary(Json::binary_t& /*v*/) { return Nested("binary data"); }
  bool start_object(size_t /*elements*/) {
    if (depth_++ == 0) return true;
    return Nested("an object");
  }
  bool key(std::string& k) {
    if (k.size() > options_.max_field_bytes)
      return Limit("a key is longer than " + core::FormatBytes(options_.max_field_bytes));
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    --depth_;
    return true;
  }
  bool start_array(size_t /*elements*/) { return Nested("an array"); }
  bool end_array() { return true; }
  bool parse_error(size_t position, const std::string& /*last_token*/, const nlohmann::detail::exception& ex) {
    error_position_ = position;
    std::string_view what = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error ...": keep
    // what follows the position, which the reader replaces with the position in the file.
    size_t column = what.find("column ");
    size_t colon = column == std::string_view::npos ? column : what.find(": ", column);
    message_ = "invalid JSON: " + Printable(colon == std::string_view::npos ? what : what.substr(colon + 2));
    return false;
  }

  size_t count() const { return count_; }
  const std::string& message() const { return message_; }
  bool is_limit() const { return is_limit_; }
  bool is_parse_error() const { return error_position_ > 0; }
  size_t error_position() const { return error_position_; }

 private:
  template <typename S>
  bool Value(S&& text, bool is_null) {
    if (depth_ != 1) return Nested("a scalar");  // only reachable for a bare scalar record
    if (count_ >= options_.max_columns) {
      return Limit("a record has more than " + std::to_string(options_.max_columns) + " fields");
    }
    if (text.size() > options_.max_field_bytes) {
      return Limit("field '" + Excerpt(key_) + "' is longer than " + core::FormatBytes(options_.max_field_bytes));
    }
    if (count_ == out_.size()) out_.emplace_back();
    JsonField& f = out_[count_++];
    std::swap(f.key, key_);
    f.value = std::forward<S>(text);
    f.is_null = is_null;
    return true;
  }
  bool Nested(const std::string& what) {
    message_ = "field '" + Excerpt(key_) + "' holds " + what + "; only scalar values are supported";
    return false;
  }
  bool Limit(std::string message) {
    message_ = std::move(message);
    is_limit_ = true;
    return false;
  }

  std::vector<JsonField>& out_;
  const JsonOptions& options_;
  size_t count_ = 0;
  int depth_ = 0;
  std::string key_;
  std::string message_;
  size_t error_position_ = 0;
  bool is_limit_ = false;
};

}  // namespace

JsonReader::JsonReader(ByteSource& source, JsonFormat format, JsonOptions options)
    : source_(source),
      format_(format),
      options_(options),
      capacity_(std::max(options.buffer_bytes, kMinBuffer)),
      buf_offset_(options.start_offset),
      line_(options.start_line),
      line_start_(options.start_offset) {
  buf_ = std::make_unique<char[]>(capacity_);
  if (options_.start_offset == 0) {
    while (end_ < 3 && !eof_) Fill();
    if (end_ >= 3 && std::memcmp(buf_.get(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  }
}

bool JsonReader::Next(std::vector<JsonField>& fields) {
  return format_ == JsonFormat::kArray ? NextArrayRecord(fields) : NextNdjsonRecord(fields);
}

void JsonReader::Fill() {
  char* base = buf_.get();
  if (pos_ > 0) {
    std::memmove(base, base + pos_, end_ - pos_);
    buf_offset_ += static_cast<int64_t>(pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ > capacity_ / 2) {  // a long record: grow geometrically, so rescans stay linear
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

void JsonReader::Advance(size_t to) {
  const char* base = buf_.get();
  for (const char* p = base + pos_; p != base + to; ++p) {
    p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(base + to - p)));
    if (p == nullptr) break;
    ++line_;
    line_start_ = buf_offset_ + (p - base) + 1;
  }
  pos_ = to;
}

bool JsonReader::SkipSpace() {
  const char* base = buf_.get();
  size_t i = pos_;
  while (i < end_ && IsSpace(base[i])) ++i;
  Advance(i);
  return i < end_;
}

void JsonReader::CheckRecordLimit(size_t bytes) const {
  if (bytes > options_.max_record_bytes) {
    core::Fail(ErrorCode::kPayloadTooLarge, "line " + std::to_string(line_) + ": a record is longer than " +
                                                core::FormatBytes(options_.max_record_bytes));
  }
}

void JsonReader::FailAt(size_t at, const std::string& what) const {
  // Line and column of buf_[at] (at >= pos_), from the position of pos_.
  const char* base = buf_.get();
  int64_t line = line_;
  int64_t line_start = line_start_;
  for (size_t i = pos_; i < at && i < end_; ++i) {
    if (base[i] == '\n') {
      ++line;
      line_start = buf_offset_ + static_cast<int64_t>(i) + 1;
    }
  }
  int64_t column = buf_offset_ + static_cast<int64_t>(at) - line_start + 1;
  core::Fail(ErrorCode::kValidation,
             "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + what);
}

JsonReader::Found JsonReader::ScanObject(size_t* object_end) {
  // Only the end of a flat object is needed: the first '}' outside a string, or the first nested
  // bracket, at which parsing will stop with a clear message. Whether the text in between is
  // valid JSON is the parser's job.
  const char* base = buf_.get();
  size_t i = pos_ + 1;
  while (i < end_) {
    char c = base[i];
    if (c == '"') {
      ++i;
      while (i < end_ && base[i] != '"') i += base[i] == '\\' ? 2 : 1;
      if (i >= end_) return Found::kNeedMore;
      ++i;
      continue;
    }
    if (c == '}' || c == '{' || c == '[') {
      *object_end = i + 1;
      return Found::kObject;
    }
    ++i;
  }
  return Found::kNeedMore;
}

void JsonReader::ParseRecord(size_t begin, size_t end, std::vector<JsonField>& fields) {
  CheckRecordLimit(end - begin);
  RecordSax sax(fields, options_);
  const char* base = buf_.get();
  bool ok = nlohmann::json::sax_parse(base + begin, base + end, &sax, nlohmann::json::input_format_t::json, true);
  if (sax.is_limit()) {
    core::Fail(ErrorCode::kPayloadTooLarge, "line " + std::to_string(line_) + ": " + sax.message());
  }
  if (!ok) {
    if (sax.is_parse_error()) FailAt(begin + std::min(sax.error_position() - 1, end - begin), sax.message());
    core::Fail(ErrorCode::kValidation, "line " + std::to_string(line_) + ": " + sax.message());
  }
  fields.resize(sax.count());
  record_line_ = line_;
  record_offset_ = buf_offset_ + static_cast<int64_t>(begin);
}

bool JsonReader::NextArrayRecord(std::vector<JsonField>& fields) {
  for (;;) {
    if (state_ == State::kDone) return false;
    if (!SkipSpace()) {
      if (!eof_) {
        Fill();
        continue;
      }
      if (state_ == State::kStart || state_ == State::kAfterArray) {
        state_ = State::kDone;
        return false;
      }
      FailAt(end_, "the file ends inside the array (is it cut off?)");
    }
    char c = buf_[pos_];
    switch (state_) {
      case State::kStart:
        if (c != '[') {
          FailAt(pos_, "expected a JSON array of objects, found " + Describe(c) +
                           (c == '{' ? " (a file with one object per line is NDJSON)" : ""));
        }
        Advance(pos_ + 1);
        state_ = State::kFirstElement;
        continue;
      case State::kAfterElement:
        if (c == ',') {
          Advance(pos_ + 1);
          state_ = State::kAfterComma;
          continue;
        }
        if (c != ']') FailAt(pos_, "expected ',' or ']' after a record, found " + Describe(c));
        Advance(pos_ + 1);
        state_ = State::kAfterArray;
        continue;
      case State::kAfterArray: FailAt(pos_, "unexpected " + Describe(c) + " after the end of the array");
      case State::kFirstElement:
        if (c == ']') {
          Advance(pos_ + 1);
          state_ = State::kAfterArray;
          continue;
        }
        break;
      case State::kAfterComma:
      case State::kDone: break;
    }
    if (c != '{') FailAt(pos_, "expected an object (a record) in the array, found " + Describe(c));
    size_t object_end = 0;
    if (ScanObject(&object_end) == Found::kNeedMore) {
      if (eof_) {
        ParseRecord(pos_, end_, fields);  // reports what is wrong with the cut-off object
        FailAt(end_, "the file ends inside a record");
      }
      CheckRecordLimit(end_ - pos_);
      Fill();
      continue;
    }
    ParseRecord(pos_, object_end, fields);
    Advance(object_end);
    state_ = State::kAfterElement;
    return true;
  }
}

bool JsonReader::NextNdjsonRecord(std::vector<JsonField>& fields) {
  for (;;) {
    if (!SkipSpace()) {
      if (eof_) return false;
      Fill();
      continue;
    }
    const char* base = buf_.get();
    const auto* newline = static_cast<const char*>(std::memchr(base + pos_, '\n', end_ - pos_));
    if (newline == nullptr && !eof_) {
      CheckRecordLimit(end_ - pos_);
      Fill();
      continue;
    }
    size_t line_end = newline != nullptr ? static_cast<size_t>(newline - base) : end_;
    if (base[pos_] != '{') {
      FailAt(pos_, "expected an object (one record per line), found " + Describe(base[pos_]));
    }
    ParseRecord(pos_, line_end, fields);
    Advance(line_end);
    return true;
  }
}

}  // namespace playground::data
