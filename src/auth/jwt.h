// JSON Web Tokens (RFC 7519) signed with HS256 only: the short-lived access tokens.
// Written here on OpenSSL's HMAC because Debian 12 packages no C++ JWT library; supporting one
// algorithm, fixed by the server and never chosen by the token's header, rules out the classic
// algorithm-confusion attacks ("alg":"none", RS256/HS256 key swaps).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace playground::auth {

// Tokens longer than this are rejected before any decoding or parsing, bounding the work an
// unauthenticated request can cause. Our access tokens are a few hundred bytes.
inline constexpr size_t kMaxJwtBytes = 8 * 1024;

// Default tolerance for clock differences between the issuer and the verifier on exp/nbf/iat.
inline constexpr std::chrono::seconds kDefaultJwtLeeway{30};

// Returns a compact JWS: base64url({"alg":"HS256","typ":"JWT"}) . base64url(claims) .
// base64url(HMAC-SHA256(secret, header "." payload)). The caller sets the claims (iss, sub, exp,
// iat, ...); this function adds none. Throws core::Error(kInvalidArgument) when `claims` is not
// a JSON object or holds invalid UTF-8, and kInternal for an empty secret.
// Safe for concurrent use.
std::string SignJwt(const nlohmann::json& claims, std::string_view secret);

// Checks `token` and returns its claims. Throws core::Error(kUnauthenticated) with a message
// saying what is wrong (never containing the token) unless all of these hold:
//  - at most kMaxJwtBytes, three base64url segments;
//  - the header is a JSON object whose "alg" is exactly "HS256" and has no "crit";
//  - the signature is HMAC-SHA256 under `secret` (compared in constant time);
//  - the payload is a JSON object;
//  - "exp" is a number and now < exp + leeway;
//  - "nbf" and "iat", when present, are numbers not later than now + leeway;
//  - "iss" equals `expected_issuer`.
// Claims other than these (sub, aud, jti, ...) are the caller's to check. `leeway` below zero
// counts as zero. Throws kInternal for an empty secret (a configuration fault, not the client's).
// Safe for concurrent use.
nlohmann::json VerifyJwt(std::string_view token, std::string_view secret, std::string_view expected_issuer,
                         const core::Clock& clock, std::chrono::seconds leeway = kDefaultJwtLeeway);

}  // namespace playground::auth
