// The subcommands' bodies; each returns a process exit code (app.h).
#pragma once

#include <string>

#include "core/settings.h"
#include "datasets/catalog.h"

namespace playground::app {

int Serve(core::Settings settings);
// The catalog's options from the settings (serve and the datasets command share them).
datasets::CatalogOptions CatalogOptionsFrom(const core::Settings& settings);
int Migrate(const core::Settings& settings, bool status_only);
// `playground worker`: runs jobs from Redis until SIGTERM/SIGINT, then finishes or releases them.
int Worker(core::Settings settings);

// `playground users ...`: account administration from the command line.
struct UsersCommand {
  std::string action;  // create | list | set-role | disable | enable
  std::string email;
  std::string password;  // create; read from PLAYGROUND_PASSWORD or stdin when empty
  std::string role;
};
int Users(core::Settings settings, const UsersCommand& cmd);

// `playground datasets cleanup`: removes expired original uploads and the leftovers of uploads
// that never completed.
int Datasets(core::Settings settings, const std::string& action);

}  // namespace playground::app
