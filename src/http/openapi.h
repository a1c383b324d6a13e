// The OpenAPI 3.1 document, generated from the route table: every non-hidden route becomes an
// operation with its path parameters, query parameters, request body and responses, and every
// operation documents the problem+json error body.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "http/router.h"

namespace playground::http {

struct OpenApiInfo {
  std::string title;
  std::string version;
  std::string description;
  // Extra entries for components (e.g. securitySchemes), merged into "components".
  nlohmann::json components = nlohmann::json::object();
};

nlohmann::json BuildOpenApi(const Router& router, const OpenApiInfo& info);

}  // namespace playground::http
