#include "api/params.h"

#include <algorithm>

#include "core/error.h"

namespace playground::api {

using core::ErrorCode;
using core::Fail;
using nlohmann::json;

std::string Field(const json& body, const char* name, size_t max_len) {
  if (!body.is_object()) Fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  auto it = body.find(name);
  if (it == body.end() || !it->is_string()) Fail(ErrorCode::kValidation, std::string(name) + ": required, a string");
  auto v = it->get<std::string>();
  if (v.size() > max_len) Fail(ErrorCode::kValidation, std::string(name) + ": longer than " + std::to_string(max_len));
  return v;
}

std::string OptField(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return "";
  if (!it->is_string()) Fail(ErrorCode::kValidation, std::string(name) + ": must be a string");
  return it->get<std::string>();
}

int PageLimit(const http::Request& req, int def, int max) {
  return static_cast<int>(QueryInt(req, "limit", def, 1, max));
}

int64_t QueryInt(const http::Request& req, const std::string& name, int64_t def, int64_t min, int64_t max) {
  auto v = req.Query(name);
  if (!v) return def;
  try {
    size_t used = 0;
    int64_t n = std::stoll(*v, &used);
    if (used == v->size() && n >= min && n <= max) return n;
  } catch (const std::exception&) {
  }
  Fail(ErrorCode::kValidation,
       name + ": an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", not '" + *v + "'");
}

std::string CheckName(const std::string& name) {
  constexpr size_t kMaxNameLength = 200;
  if (name.empty() || name.size() > kMaxNameLength) {
    core::Fail(core::ErrorCode::kValidation, "name: 1 to " + std::to_string(kMaxNameLength) + " characters");
  }
  if (std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    core::Fail(core::ErrorCode::kValidation, "name: control characters are not allowed");
  }
  return name;
}

}  // namespace playground::api
