// RFC 9457 problem details: the one place that turns errors into HTTP statuses and bodies.
//
// Every error response of the API is application/problem+json with type, title, status and
// detail (plus instance and request_id). core::Error codes map to statuses in ProblemStatus();
// no other code chooses a status for an error.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"
#include "http/message.h"

namespace playground::http {

// The HTTP status of an error code (the one mapping table).
int ProblemStatus(core::ErrorCode code);

// A problem response. `type_name` is a short stable name (e.g. "not-found") that becomes the
// problem type URI "/problems/<type_name>"; `detail` tells the user what to fix.
Response Problem(int status, std::string_view type_name, std::string_view title, std::string_view detail);

// The problem response for a core::Error.
Response ProblemFromError(const core::Error& error);

// The standard reason phrase of a status, e.g. "Not Found".
std::string_view StatusTitle(int status);

// JSON Schema of a problem body, for the OpenAPI document.
nlohmann::json ProblemSchema();

}  // namespace playground::http
