// The `playground` command line: subcommands (serve, migrate, version, settings) built with
// CLI11, every setting's flag and environment variable generated from core/settings.h.
#pragma once

namespace playground::app {

// Exit codes of every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // an unexpected failure
inline constexpr int kExitBadConfig = 2;    // a bad flag, setting or usage
inline constexpr int kExitUnavailable = 3;  // a dependency (the database) cannot be reached

int Main(int argc, char** argv);

}  // namespace playground::app
