// Identifiers and secrets from a cryptographic random source (OpenSSL RAND_bytes).
// Safe for concurrent use.
#pragma once

#include <string>

namespace playground::core {

// `bytes` random bytes as lowercase hex (2 * bytes characters).
std::string RandomHex(size_t bytes);

// 128 random bits as 32 hex characters from a fast per-thread generator seeded from the
// cryptographic source: unique, but not secret. For request ids and other labels, never keys.
std::string FastRandomHex128();

// A random version-4 UUID in its canonical 36-character form: the id of every stored resource.
std::string NewUuid();

}  // namespace playground::core
