// Routes: the one table of every endpoint, with its handler, its execution and body limits, and
// its documentation. The OpenAPI document (openapi.h) is generated from this table, so an
// endpoint cannot exist without being described.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/message.h"

namespace playground::http {

using Handler = std::function<Response(Request&)>;

struct QueryParamDoc {
  std::string name;
  std::string type;  // JSON Schema type: "string", "integer", "boolean", "number"
  std::string description;
  bool required = false;
};

struct ResponseDoc {
  std::string description;
  nlohmann::json schema;  // null: no body documented
  std::string content_type = "application/json";
};

// Who may call a route. Every route declares one (Allow); the server refuses to start with a
// route that has none, so no endpoint is public by accident. Enforced by the authentication
// middleware of the api module.
enum class Access {
  kUnset,   // not declared
  kPublic,  // anyone, signed in or not
  kUser,    // any signed-in account: viewer, member or admin
  kMember,  // members and admins (creating and changing resources)
  kAdmin,   // admins only
};

std::string_view AccessName(Access a);

struct Route {
  std::string method;   // "GET", "POST", ...
  std::string pattern;  // "/api/v1/jobs/{id}"; a last segment "{name...}" matches the rest of the path
  Handler handler;

  // Where the handler runs: on the handler pool (default; it may touch the database or disk),
  // or inline on the network thread (only for handlers that never block, e.g. /health).
  bool blocking = true;
  // Largest body accepted; 0 means the server's MAX_BODY_BYTES.
  int64_t max_body_bytes = 0;
  // The handler reads the body itself through Request::body_reader, as it arrives.
  bool stream_body = false;

  // Documentation for /openapi.json.
  std::string summary;
  std::string description;
  std::vector<std::string> tags;
  std::vector<QueryParamDoc> query;
  nlohmann::json request_schema;  // null: no body
  std::string request_content_type = "application/json";
  std::map<int, ResponseDoc> responses;
  bool hidden = false;  // left out of the OpenAPI document (static assets)

  // Access policy, declared next to the route.
  Access access = Access::kUnset;
  // API key scopes that may call the route ("full" may call every route its user may).
  std::vector<std::string> key_scopes;
  // The request-rate zone the route counts against ("api", "auth", "upload", "predict").
  std::string rate_zone = "api";

  // Fluent setters, so that a route reads as one declaration.
  Route& Summary(std::string s, std::string d = "") {
    summary = std::move(s);
    description = std::move(d);
    return *this;
  }
  Route& Tag(std::string t) {
    tags.push_back(std::move(t));
    return *this;
  }
  Route& Inline() {
    blocking = false;
    return *this;
  }
  Route& MaxBody(int64_t bytes) {
    max_body_bytes = bytes;
    return *this;
  }
  Route& StreamBody() {
    stream_body = true;
    return *this;
  }
  Route& Query(std::string name, std::string type, std::string desc, bool required = false) {
    query.push_back({std::move(name), std::move(type), std::move(desc), required});
    return *this;
  }
  Route& Body(nlohmann::json schema, std::string content_type = "application/json") {
    request_schema = std::move(schema);
    request_content_type = std::move(content_type);
    return *this;
  }
  Route& Returns(int status, std::string desc, nlohmann::json schema = nullptr,
                 std::string content_type = "application/json") {
    responses[status] = {std::move(desc), std::move(schema), std::move(content_type)};
    return *this;
  }
  Route& Hidden() {
    hidden = true;
    return *this;
  }
  Route& Allow(Access a, std::vector<std::string> scopes = {}) {
    access = a;
    key_scopes = std::move(scopes);
    return *this;
  }
  Route& RateZone(std::string zone) {
    rate_zone = std::move(zone);
    return *this;
  }

  // The pattern's parameter names, in order.
  std::vector<std::string> ParamNames() const;
};

struct RouteMatch {
  const Route* route = nullptr;  // null: no match
  std::map<std::string, std::string> params;
  bool path_exists = false;     // some route has this path, with another method (405)
  std::string allowed_methods;  // for the Allow header of a 405
};

// Built at start-up, then read-only: Add is not thread-safe; Match is safe for concurrent use
// once adding is over.
class Router {
 public:
  Route& Add(std::string method, std::string pattern, Handler handler);
  Route& Get(std::string pattern, Handler h) { return Add("GET", std::move(pattern), std::move(h)); }
  Route& Post(std::string pattern, Handler h) { return Add("POST", std::move(pattern), std::move(h)); }
  Route& Put(std::string pattern, Handler h) { return Add("PUT", std::move(pattern), std::move(h)); }
  Route& Patch(std::string pattern, Handler h) { return Add("PATCH", std::move(pattern), std::move(h)); }
  Route& Delete(std::string pattern, Handler h) { return Add("DELETE", std::move(pattern), std::move(h)); }

  // HEAD matches a GET route. Literal segments win over parameters.
  RouteMatch Match(std::string_view method, std::string_view path) const;

  const std::deque<Route>& routes() const { return routes_; }

 private:
  struct Compiled {
    const Route* route;
    std::vector<std::string> segments;  // "{x}" for parameters
    bool rest = false;                  // last segment is "{x...}"
    int literals = 0;
  };
  std::deque<Route> routes_;  // deque: references handed out stay valid
  std::vector<Compiled> compiled_;
  std::unordered_map<std::string, std::vector<const Route*>> literal_;  // path -> routes (all methods)
};

// Splits a decoded path into segments ("/a/b/" -> {"a", "b", ""}).
std::vector<std::string_view> SplitPath(std::string_view path);

}  // namespace playground::http
