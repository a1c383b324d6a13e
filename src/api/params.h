// Reading request parameters the same way in every route group: JSON body fields and paging
// query parameters, each refused with a 4xx that names the parameter and what it must be.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "http/message.h"

namespace playground::api {

// A required string field of a JSON object body (kInvalidArgument when the body is not an
// object, kValidation when the field is missing, not a string or longer than `max_len`).
std::string Field(const nlohmann::json& body, const char* name, size_t max_len = 1024);
// An optional string field: "" when absent or null.
std::string OptField(const nlohmann::json& body, const char* name);

// A resource's display name (datasets, models, pipelines): 1 to 200 characters, no control
// characters; kValidation saying which rule it breaks.
std::string CheckName(const std::string& name);

// ?limit=: `def` when absent, else an integer from 1 to `max`.
int PageLimit(const http::Request& req, int def, int max);
// An optional non-negative integer query parameter (e.g. ?offset=); `def` when absent.
int64_t QueryInt(const http::Request& req, const std::string& name, int64_t def, int64_t min, int64_t max);

}  // namespace playground::api
