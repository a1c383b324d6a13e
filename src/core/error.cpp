#include "core/error.h"

namespace playground::core {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid-argument";
    case ErrorCode::kValidation: return "validation-failed";
    case ErrorCode::kNotFound: return "not-found";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kPermissionDenied: return "permission-denied";
    case ErrorCode::kPayloadTooLarge: return "payload-too-large";
    case ErrorCode::kUnsupportedMediaType: return "unsupported-media-type";
    case ErrorCode::kRateLimited: return "rate-limited";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace playground::core
