// Streaming multipart/form-data (RFC 7578) over a BodyReader, so that a file part of any size
// passes through without the body ever being held in memory.
//
// Written by hand: Boost.Beast has no multipart support and Debian packages no maintained
// streaming multipart parser for C++; the format needs only a boundary search and a small
// header parser.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"

namespace playground::http {

// The boundary parameter of a multipart/form-data Content-Type, or nullopt when the type is not
// multipart/form-data or has no usable boundary.
std::optional<std::string> MultipartBoundary(std::string_view content_type);

struct MultipartPart {
  std::string name;          // form field name (Content-Disposition name=)
  std::string filename;      // Content-Disposition filename=, if any
  std::string content_type;  // the part's Content-Type, if any
};

// Reads parts one after the other: NextPart() moves to the next part (skipping what is left of
// the current one), Read() returns the current part's bytes. Malformed input throws
// core::Error(kInvalidArgument) saying what is wrong. Thread-compatible.
class MultipartReader {
 public:
  MultipartReader(BodyReader& body, std::string boundary);

  // Moves to the next part; false when the closing boundary has been read.
  bool NextPart(MultipartPart& part);
  // Reads up to `n` bytes of the current part; 0 at its end.
  size_t Read(char* buf, size_t n);
  // The current part's whole content, for small fields; kPayloadTooLarge past `limit` bytes.
  std::string ReadAll(size_t limit);

 private:
  bool Fill(size_t want);  // reads more body until the buffer holds `want` bytes; false at end
  std::string_view Buffered() const { return std::string_view(buf_).substr(pos_); }
  void Consume(size_t n);

  BodyReader& body_;
  std::string delimiter_;  // "\r\n--" + boundary
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  bool started_ = false;   // the first boundary has been read
  bool in_part_ = false;   // Read() may return bytes of the current part
  bool finished_ = false;  // the closing boundary has been read
};

}  // namespace playground::http
