#include "http/static_site.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/digest.h"
#include "core/error.h"

namespace playground::http {

namespace fs = std::filesystem;

std::string ContentTypeFor(std::string_view name) {
  static const std::map<std::string, std::string, std::less<>> kTypes{
      {".css", "text/css; charset=utf-8"},
      {".html", "text/html; charset=utf-8"},
      {".ico", "image/x-icon"},
      {".js", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
      {".woff2", "font/woff2"},
  };
  auto dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    if (auto it = kTypes.find(name.substr(dot)); it != kTypes.end()) return it->second;
  }
  return "application/octet-stream";
}

std::shared_ptr<const StaticSite> StaticSite::Load(const std::string& dir, int64_t max_total_bytes) {
  auto site = std::make_shared<StaticSite>();
  site->dir_ = dir;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return site;
  int64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied)) {
    if (!entry.is_regular_file()) continue;
    total += static_cast<int64_t>(entry.file_size());
    if (total > max_total_bytes) {
      core::Fail(core::ErrorCode::kValidation,
                 "the web UI in " + dir + " is larger than " + std::to_string(max_total_bytes) + " bytes");
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    File f;
    f.body = std::move(body).str();
    std::string name = fs::relative(entry.path(), dir).generic_string();
    f.content_type = ContentTypeFor(name);
    f.etag = "\"" + core::Hex(core::Sha256(f.body)).substr(0, 32) + "\"";
    site->files_.emplace(std::move(name), std::move(f));
  }
  return site;
}

Response StaticSite::Send(const Request& req, std::string_view name, const File& f) const {
  Response res;
  // Vite names what it writes under assets/ by a hash of the contents: a new build gets new
  // names, so those never change and may be kept; the rest (index.html) is checked each time.
  const bool immutable = name.starts_with("assets/");
  res.headers.Set("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  res.headers.Set("ETag", f.etag);
  auto match = req.headers.Get("If-None-Match");
  if (match && *match == f.etag) {
    res.status = 304;
    return res;
  }
  res.status = 200;
  res.headers.Set("Content-Type", f.content_type);
  res.body = f.body;
  return res;
}

std::optional<Response> StaticSite::Serve(const Request& req) const {
  if (req.method != "GET" && req.method != "HEAD") return std::nullopt;
  if (files_.empty() || req.path.empty() || req.path.front() != '/') return std::nullopt;
  std::string_view name = std::string_view(req.path).substr(1);
  if (name.empty()) name = "index.html";
  if (auto it = files_.find(name); it != files_.end()) return Send(req, it->first, it->second);
  // A path whose last segment has an extension asks for a file: a missing one is a 404, not the
  // app's page (which a browser would try to run as a script or style).
  std::string_view last = name.substr(name.rfind('/') == std::string_view::npos ? 0 : name.rfind('/') + 1);
  if (last.find('.') != std::string_view::npos) return std::nullopt;
  auto index = files_.find("index.html");
  if (index == files_.end()) return std::nullopt;
  return Send(req, index->first, index->second);
}

Middleware StaticSiteMiddleware(std::shared_ptr<const StaticSite> site, std::string api_prefix) {
  return [site = std::move(site), prefix = std::move(api_prefix)](Request& req, const Next& next) {
    if (req.route != nullptr || site->empty()) return next(req);
    const bool api = !prefix.empty() && (req.path == prefix || req.path.starts_with(prefix + "/"));
    if (!api) {
      if (auto res = site->Serve(req)) return std::move(*res);
    }
    return next(req);
  };
}

}  // namespace playground::http
