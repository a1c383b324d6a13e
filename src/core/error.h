// Errors that callers are expected to handle, shared by every module.
//
// Policy: code below the HTTP layer reports an expected failure (bad input, missing row,
// conflict, an unavailable dependency) by throwing core::Error with one of the codes below.
// Exactly one table (http/problem.cpp) maps these codes to HTTP statuses; nothing else in the
// tree chooses a status for an error. Errors from C libraries are converted to core::Error by
// the one wrapper that calls the library.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace playground::core {

enum class ErrorCode {
  kInvalidArgument,       // the caller sent something malformed
  kValidation,            // well-formed but semantically invalid (e.g. a parameter out of range)
  kNotFound,              // no such resource, or not visible to the caller
  kConflict,              // the resource's state does not allow the operation
  kUnauthenticated,       // no or bad credentials
  kPermissionDenied,      // authenticated but not allowed
  kPayloadTooLarge,       // a size limit was exceeded
  kUnsupportedMediaType,  // the body's content type is not accepted
  kRateLimited,           // too many requests; retry later
  kUnavailable,           // a dependency (database, queue) cannot be reached; retry later
  kTimeout,               // the operation took longer than allowed
  kInternal,              // a bug or an unexpected failure
};

// The stable machine-readable name of a code, e.g. "not-found"; used in problem types.
std::string_view ErrorCodeName(ErrorCode code);

// An expected failure with a message meant for the person who can fix it.
// Thread-compatible (immutable after construction).
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

[[noreturn]] inline void Fail(ErrorCode code, const std::string& message) { throw Error(code, message); }

// A size limit as messages give it: "1 MiB" or "16 KiB" when it is a whole number of them,
// otherwise "1000 bytes".
std::string FormatBytes(std::size_t bytes);

}  // namespace playground::core
