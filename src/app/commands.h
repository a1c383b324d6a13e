// The subcommands' bodies; each returns a process exit code (app.h).
#pragma once

#include "core/settings.h"

namespace playground::app {

int Serve(core::Settings settings);
int Migrate(const core::Settings& settings, bool status_only);

}  // namespace playground::app
