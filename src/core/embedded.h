// Files compiled into the binary (cmake/Embed.cmake): the Swagger UI for /docs, the schema
// migrations, the web UI. Each module that embeds files gets an EmbeddedFiles() in its own
// namespace returning a table of these.
#pragma once

#include <span>
#include <string_view>

namespace playground::core {

struct EmbeddedFile {
  std::string_view name;  // relative name, e.g. "swagger-ui-bundle.js"
  std::string_view data;  // contents; lives for the whole process
};

// The file called `name` in `files`, or null.
inline const EmbeddedFile* FindEmbedded(std::span<const EmbeddedFile> files, std::string_view name) {
  for (const auto& f : files) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace playground::core
