#include "http/message.h"

#include <strings.h>

#include "core/error.h"

namespace playground::http {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (IEquals(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

void Headers::Set(std::string_view name, std::string value) {
  std::erase_if(items_, [&](const auto& kv) { return IEquals(kv.first, name); });
  items_.emplace_back(std::string(name), std::move(value));
}

const std::string& Request::Param(const std::string& name) const {
  auto it = path_params.find(name);
  if (it == path_params.end()) core::Fail(core::ErrorCode::kInternal, "route has no path parameter '" + name + "'");
  return it->second;
}

std::optional<std::string> Request::Query(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

nlohmann::json Request::JsonBody() const {
  if (body.empty())
    core::Fail(core::ErrorCode::kInvalidArgument, "the request body is empty; a JSON object was expected");
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    core::Fail(core::ErrorCode::kInvalidArgument,
               "the request body is not valid JSON (at byte " + std::to_string(e.byte) + ")");
  }
}

Response Response::Json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", "application/json");
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Response Response::Empty(int status) {
  Response r;
  r.status = status;
  return r;
}

}  // namespace playground::http
