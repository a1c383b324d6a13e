// The built web UI (a Vite single-page app) served from memory: the files of one directory are
// read once at start-up, so a request never touches the disk and no path from a request is ever
// joined to a file name (nothing outside the directory can be reached).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"
#include "http/middleware.h"

namespace playground::http {

// The Content-Type for a file name, from its extension.
std::string ContentTypeFor(std::string_view name);

class StaticSite {
 public:
  // Reads every regular file under `dir` (at most `max_total_bytes` in all; larger throws
  // core::Error(kValidation)). A missing directory gives an empty site.
  static std::shared_ptr<const StaticSite> Load(const std::string& dir, int64_t max_total_bytes = 64 << 20);

  // The response for a GET or HEAD of `path`, or nullopt when the site has nothing for it:
  // - a file of the site: hashed assets (under /assets/) are cached for a year as immutable,
  //   other files are revalidated (ETag, 304 on If-None-Match);
  // - any other path that looks like a page of the app (no file extension, not under the API
  //   prefix): index.html, so that the app's own router shows it (the SPA fallback).
  std::optional<Response> Serve(const Request& req) const;

  bool empty() const { return files_.empty(); }
  size_t size() const { return files_.size(); }
  const std::string& dir() const { return dir_; }

 private:
  struct File {
    std::string body;
    std::string content_type;
    std::string etag;
  };
  Response Send(const Request& req, std::string_view name, const File& f) const;

  std::string dir_;
  std::map<std::string, File, std::less<>> files_;  // by path relative to dir, e.g. "assets/index-abc.js"
};

// Serves the site for requests no route matched (GET and HEAD only); `api_prefix` paths are
// never the app's pages, so an unknown API path stays a 404 problem.
Middleware StaticSiteMiddleware(std::shared_ptr<const StaticSite> site, std::string api_prefix);

}  // namespace playground::http
