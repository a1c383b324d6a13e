// Opaque secrets handed to clients (refresh tokens, API keys) and the way they are stored.
// A token is a recognisable prefix plus 256 random bits; the database keeps only its SHA-256,
// so a leaked table does not leak usable credentials.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace playground::auth {

// Prefixes of the opaque tokens. They let secret scanners (and people) recognise a leaked
// credential and tell its kind at a glance.
inline constexpr std::string_view kRefreshTokenPrefix = "pgr_";
inline constexpr std::string_view kApiKeyPrefix = "pgk_";

// Random bytes in an opaque token (256 bits: unguessable, so no rate limit is needed to
// protect it and a fast hash suffices to store it).
inline constexpr size_t kOpaqueTokenBytes = 32;

// `prefix` followed by kOpaqueTokenBytes from OpenSSL's CSPRNG in base64url (43 characters).
// Throws core::Error(kInternal) if the random source fails. Safe for concurrent use.
std::string NewOpaqueToken(std::string_view prefix);

// The lowercase hex SHA-256 of the whole token (prefix included): the value to store and to look
// a presented token up by. A plain fast hash is right here, unlike for passwords: the token has
// 256 bits of entropy, so there is nothing for a slow, salted hash to protect against brute
// force, and a deterministic hash allows an indexed lookup. Safe for concurrent use.
std::string HashToken(std::string_view token);

// Whether `a` and `b` are equal, taking time that depends only on their lengths (never on where
// they first differ). Lengths are not secret here: hashes and tokens have fixed lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace playground::auth
