#include "http/openapi.h"

#include <cctype>

#include "http/problem.h"

namespace playground::http {
namespace {

// "GET /api/v1/jobs/{id}" -> "getApiV1JobsById": stable, unique per route.
std::string OperationId(const Route& r) {
  std::string id;
  for (char c : r.method) id.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (auto seg : SplitPath(r.pattern)) {
    std::string s(seg);
    if (s.size() > 2 && s.front() == '{') {
      s = "by_" + s.substr(1, s.size() - 2);
      if (s.ends_with("...")) s.resize(s.size() - 3);
    }
    bool upper = true;  // capitalise the first letter of each word
    for (char c : s) {
      if (!std::isalnum(static_cast<unsigned char>(c))) {
        upper = true;
        continue;
      }
      id.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
      upper = false;
    }
  }
  return id;
}

// OpenAPI paths write a rest parameter "{path...}" as "{path}".
std::string OpenApiPath(const std::string& pattern) {
  std::string out = pattern;
  size_t pos;
  while ((pos = out.find("...}")) != std::string::npos) out.replace(pos, 4, "}");
  return out;
}

}  // namespace

nlohmann::json BuildOpenApi(const Router& router, const OpenApiInfo& info) {
  nlohmann::json paths = nlohmann::json::object();
  for (const Route& r : router.routes()) {
    if (r.hidden) continue;
    nlohmann::json op = {{"operationId", OperationId(r)}};
    if (!r.summary.empty()) op["summary"] = r.summary;
    if (!r.description.empty()) op["description"] = r.description;
    if (!r.tags.empty()) op["tags"] = r.tags;
    op["x-access"] = AccessName(r.access);
    if (!r.key_scopes.empty()) op["x-api-key-scopes"] = r.key_scopes;
    if (r.access == Access::kPublic) {
      op["security"] = nlohmann::json::array();
    } else if (r.access != Access::kUnset) {
      op["security"] = {{{"bearerAuth", nlohmann::json::array()}}, {{"apiKeyHeader", nlohmann::json::array()}}};
    }
    nlohmann::json params = nlohmann::json::array();
    for (const auto& name : r.ParamNames()) {
      params.push_back({{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
    }
    for (const auto& q : r.query) {
      params.push_back({{"name", q.name},
                        {"in", "query"},
                        {"required", q.required},
                        {"description", q.description},
                        {"schema", {{"type", q.type}}}});
    }
    if (!params.empty()) op["parameters"] = params;
    if (!r.request_schema.is_null()) {
      op["requestBody"] = {{"required", true}, {"content", {{r.request_content_type, {{"schema", r.request_schema}}}}}};
    }
    nlohmann::json responses = nlohmann::json::object();
    for (const auto& [status, doc] : r.responses) {
      nlohmann::json resp = {{"description", doc.description}};
      if (!doc.schema.is_null()) resp["content"] = {{doc.content_type, {{"schema", doc.schema}}}};
      responses[std::to_string(status)] = resp;
    }
    if (responses.empty()) responses["200"] = {{"description", "OK"}};
    responses["default"] = {
        {"description", "An error, as RFC 9457 problem details"},
        {"content", {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
    op["responses"] = responses;
    std::string method = r.method;
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[OpenApiPath(r.pattern)][method] = op;
  }
  nlohmann::json components = {{"schemas", {{"Problem", ProblemSchema()}}}};
  for (auto it = info.components.begin(); it != info.components.end(); ++it) {
    if (it.key() == "schemas") {
      for (auto s = it.value().begin(); s != it.value().end(); ++s) components["schemas"][s.key()] = s.value();
    } else {
      components[it.key()] = it.value();
    }
  }
  return {{"openapi", "3.1.0"},
          {"info", {{"title", info.title}, {"version", info.version}, {"description", info.description}}},
          {"paths", paths},
          {"components", components}};
}

}  // namespace playground::http
