#include "http/router.h"

#include "core/error.h"

namespace playground::http {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      break;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

std::string_view AccessName(Access a) {
  switch (a) {
    case Access::kUnset: return "unset";
    case Access::kPublic: return "public";
    case Access::kUser: return "user";
    case Access::kMember: return "member";
    case Access::kAdmin: return "admin";
  }
  return "unset";
}

std::vector<std::string> Route::ParamNames() const {
  std::vector<std::string> names;
  for (auto seg : SplitPath(pattern)) {
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      std::string name(seg.substr(1, seg.size() - 2));
      if (name.ends_with("...")) name.resize(name.size() - 3);
      names.push_back(std::move(name));
    }
  }
  return names;
}

Route& Router::Add(std::string method, std::string pattern, Handler handler) {
  if (pattern.empty() || pattern.front() != '/') {
    core::Fail(core::ErrorCode::kInternal, "route pattern must start with '/': " + pattern);
  }
  for (const auto& r : routes_) {
    if (r.method == method && r.pattern == pattern) {
      core::Fail(core::ErrorCode::kInternal, "route declared twice: " + method + " " + pattern);
    }
  }
  Route& route = routes_.emplace_back();
  route.method = std::move(method);
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);

  Compiled c{&route, {}, false, 0};
  bool has_params = false;
  auto segs = SplitPath(route.pattern);
  for (size_t i = 0; i < segs.size(); ++i) {
    std::string seg(segs[i]);
    bool param = seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
    if (param && seg.ends_with("...}")) {
      if (i + 1 != segs.size()) core::Fail(core::ErrorCode::kInternal, "{x...} must be last: " + route.pattern);
      c.rest = true;
    }
    has_params = has_params || param;
    if (!param) ++c.literals;
    c.segments.push_back(std::move(seg));
  }
  if (has_params) {
    compiled_.push_back(std::move(c));
  } else {
    literal_[route.pattern].push_back(&route);
  }
  return route;
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  RouteMatch m;
  auto method_matches = [&](const Route* r) { return r->method == method || (method == "HEAD" && r->method == "GET"); };
  auto note_allowed = [&](const Route* r) {
    m.path_exists = true;
    if (m.allowed_methods.find(r->method) == std::string::npos) {
      m.allowed_methods += (m.allowed_methods.empty() ? "" : ", ") + r->method;
    }
  };

  if (auto it = literal_.find(std::string(path)); it != literal_.end()) {
    for (const Route* r : it->second) {
      if (method_matches(r)) {
        m.route = r;
        return m;
      }
      note_allowed(r);
    }
  }

  auto segs = SplitPath(path);
  int best_literals = -1;
  for (const auto& c : compiled_) {
    if (c.rest ? segs.size() < c.segments.size() : segs.size() != c.segments.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < c.segments.size() && ok; ++i) {
      const std::string& p = c.segments[i];
      if (p.front() == '{' && p.back() == '}') {
        if (c.rest && i + 1 == c.segments.size()) {
          // The rest of the path, slashes included.
          std::string rest;
          for (size_t j = i; j < segs.size(); ++j) rest += (j > i ? "/" : "") + std::string(segs[j]);
          params[p.substr(1, p.size() - 5)] = rest;
        } else if (segs[i].empty()) {
          ok = false;
        } else {
          params[p.substr(1, p.size() - 2)] = std::string(segs[i]);
        }
      } else {
        ok = p == segs[i];
      }
    }
    if (!ok) continue;
    if (!method_matches(c.route)) {
      note_allowed(c.route);
      continue;
    }
    if (c.literals > best_literals) {
      best_literals = c.literals;
      m.route = c.route;
      m.params = std::move(params);
    }
  }
  return m;
}

}  // namespace playground::http
