// Small pieces every test harness needs on this host: a free loopback port, a program found on
// PATH or in its Debian directory, and a log file's text for error messages.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace playground::testkit {

// A loopback TCP port that was free a moment ago (bind to port 0 and ask). Harnesses that hand it
// to a server retry with another one if it was taken since. Throws std::runtime_error.
int FreeLoopbackPort();

// The path of executable `name`: PATH first (a developer's own build), then each of
// `fallback_dirs` (Debian's locations, which a non-root PATH may lack); "" when not found.
std::string FindExecutable(const std::string& name, const std::vector<std::string>& fallback_dirs);

// The whole file, or "" if it cannot be read.
std::string ReadFile(const std::string& path);

// The last `max_lines` lines of a file, indented for an error message.
std::string TailFile(const std::string& path, size_t max_lines = 40);

}  // namespace playground::testkit
