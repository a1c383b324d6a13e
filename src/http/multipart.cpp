#include "http/multipart.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace playground::http {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr size_t kMaxHeaderBytes = 16 * 1024;
constexpr size_t kChunk = 64 * 1024;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of parameter `key` in a header value such as `form-data; name="file"; filename="a.csv"`.
// Segments are split at semicolons outside quotes; quoted values may escape with a backslash.
std::optional<std::string> Param(std::string_view value, std::string_view key) {
  std::vector<std::string> segments(1);
  bool quoted = false;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (quoted && c == '\\' && i + 1 < value.size()) {
      segments.back() += value[++i];
    } else if (c == '"') {
      quoted = !quoted;
      segments.back() += c;
    } else if (c == ';' && !quoted) {
      segments.emplace_back();
    } else {
      segments.back() += c;
    }
  }
  for (size_t i = 1; i < segments.size(); ++i) {
    std::string_view seg = segments[i];
    size_t eq = seg.find('=');
    if (eq == std::string_view::npos || Lower(Trim(seg.substr(0, eq))) != key) continue;
    std::string_view v = Trim(seg.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> MultipartBoundary(std::string_view content_type) {
  size_t semi = content_type.find(';');
  if (Lower(Trim(content_type.substr(0, semi))) != "multipart/form-data") return std::nullopt;
  auto b = Param(content_type, "boundary");
  // RFC 2046: 1 to 70 characters.
  if (!b || b->empty() || b->size() > 70) return std::nullopt;
  return b;
}

MultipartReader::MultipartReader(BodyReader& body, std::string boundary)
    : body_(body), delimiter_("\r\n--" + boundary) {}

bool MultipartReader::Fill(size_t want) {
  while (buf_.size() - pos_ < want && !eof_) {
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    size_t old = buf_.size();
    buf_.resize(old + kChunk);
    size_t n = body_.Read(buf_.data() + old, kChunk);
    buf_.resize(old + n);
    if (n == 0) eof_ = true;
  }
  return buf_.size() - pos_ >= want;
}

void MultipartReader::Consume(size_t n) { pos_ += n; }

size_t MultipartReader::Read(char* out, size_t n) {
  if (!in_part_ || n == 0) return 0;
  Fill(delimiter_.size() + n);
  std::string_view data = Buffered();
  size_t at = data.find(delimiter_);
  size_t avail;
  if (at != std::string_view::npos) {
    avail = at;
  } else {
    if (eof_) Fail(ErrorCode::kInvalidArgument, "the multipart body ends inside a part (no closing boundary)");
    // Keep back what could be the start of a delimiter split across reads.
    avail = data.size() >= delimiter_.size() ? data.size() - (delimiter_.size() - 1) : 0;
  }
  if (avail == 0) {
    in_part_ = false;  // at the delimiter: the part is over
    return 0;
  }
  size_t take = std::min(avail, n);
  std::memcpy(out, data.data(), take);
  Consume(take);
  return take;
}

std::string MultipartReader::ReadAll(size_t limit) {
  std::string out;
  char tmp[4096];
  while (size_t n = Read(tmp, sizeof(tmp))) {
    if (out.size() + n > limit) {
      Fail(ErrorCode::kPayloadTooLarge, "a form field is longer than " + std::to_string(limit) + " bytes");
    }
    out.append(tmp, n);
  }
  return out;
}

bool MultipartReader::NextPart(MultipartPart& part) {
  if (finished_) return false;
  if (!started_) {
    // The first boundary may follow a preamble; it has no leading CRLF when at the very start.
    std::string first = delimiter_.substr(2);
    while (true) {
      Fill(first.size());
      std::string_view data = Buffered();
      size_t at = data.find(first);
      if (at != std::string_view::npos && (at == 0 || (at >= 2 && data.substr(at - 2, 2) == "\r\n"))) {
        Consume(at + first.size());
        break;
      }
      if (eof_ || data.size() > kMaxHeaderBytes) {
        Fail(ErrorCode::kInvalidArgument, "the multipart body does not start with its boundary");
      }
      if (!Fill(data.size() + 1)) Fail(ErrorCode::kInvalidArgument, "the multipart body has no boundary");
    }
    started_ = true;
  } else {
    char skip[16384];
    in_part_ = true;
    while (Read(skip, sizeof(skip)) > 0) {
    }
    Consume(delimiter_.size());
  }
  // After a boundary: "--" closes the body; otherwise optional whitespace and CRLF.
  Fill(2);
  if (Buffered().substr(0, 2) == "--") {
    finished_ = true;
    in_part_ = false;
    return false;
  }
  while (Fill(1) && (Buffered().front() == ' ' || Buffered().front() == '\t')) Consume(1);
  if (!Fill(2) || Buffered().substr(0, 2) != "\r\n") {
    Fail(ErrorCode::kInvalidArgument, "malformed multipart boundary line");
  }
  Consume(2);
  // Part headers, up to an empty line.
  part = MultipartPart{};
  std::string_view data;
  size_t end = std::string_view::npos;
  for (size_t want = 4; end == std::string_view::npos; want = Buffered().size() + 1) {
    if (!Fill(want) && Buffered().find("\r\n\r\n") == std::string_view::npos) {
      if (Buffered().substr(0, 2) == "\r\n") break;  // a part without headers
      Fail(ErrorCode::kInvalidArgument, "the multipart body ends inside a part's headers");
    }
    data = Buffered();
    if (data.substr(0, 2) == "\r\n") {
      end = 0;
      break;
    }
    end = data.find("\r\n\r\n");
    if (end == std::string_view::npos && data.size() > kMaxHeaderBytes) {
      Fail(ErrorCode::kInvalidArgument, "a multipart part's headers are longer than 16 KiB");
    }
  }
  data = Buffered();
  std::string_view headers = end == 0 ? std::string_view() : data.substr(0, end);
  size_t line_start = 0;
  while (line_start < headers.size()) {
    size_t line_end = headers.find("\r\n", line_start);
    if (line_end == std::string_view::npos) line_end = headers.size();
    std::string_view line = headers.substr(line_start, line_end - line_start);
    line_start = line_end + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = Lower(Trim(line.substr(0, colon)));
    std::string_view value = Trim(line.substr(colon + 1));
    if (name == "content-disposition") {
      part.name = Param(value, "name").value_or("");
      part.filename = Param(value, "filename").value_or("");
    } else if (name == "content-type") {
      part.content_type = std::string(value);
    }
  }
  Consume(end == 0 ? 2 : end + 4);
  in_part_ = true;
  return true;
}

}  // namespace playground::http
