#include "http/problem.h"

namespace playground::http {

int ProblemStatus(core::ErrorCode code) {
  using core::ErrorCode;
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kValidation: return 422;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kUnsupportedMediaType: return 415;
    case ErrorCode::kRateLimited: return 429;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kTimeout: return 504;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

std::string_view StatusTitle(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

Response Problem(int status, std::string_view type_name, std::string_view title, std::string_view detail) {
  nlohmann::json body = {
      {"type", "/problems/" + std::string(type_name)}, {"title", title}, {"status", status}, {"detail", detail}};
  Response r = Response::Json(status, body);
  r.headers.Set("Content-Type", "application/problem+json");
  return r;
}

Response ProblemFromError(const core::Error& error) {
  int status = ProblemStatus(error.code());
  return Problem(status, core::ErrorCodeName(error.code()), StatusTitle(status), error.what());
}

nlohmann::json ProblemSchema() {
  return {{"type", "object"},
          {"required", {"type", "title", "status", "detail"}},
          {"properties",
           {{"type", {{"type", "string"}, {"description", "Problem type, e.g. /problems/not-found"}}},
            {"title", {{"type", "string"}}},
            {"status", {{"type", "integer"}}},
            {"detail", {{"type", "string"}, {"description", "What went wrong and how to fix it"}}},
            {"instance", {{"type", "string"}, {"description", "The request path"}}},
            {"request_id", {{"type", "string"}}}}}};
}

}  // namespace playground::http
