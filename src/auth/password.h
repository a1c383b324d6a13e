// Password hashing (argon2id through libargon2) and the policy a new password must meet.
// Hashes are stored as PHC strings ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>") that carry
// their own parameters, so raising the cost later only needs NeedsRehash on the next login.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace playground::auth {

// The argon2id cost. The defaults are OWASP's recommended minimum for argon2id (Password Storage
// Cheat Sheet: 19 MiB of memory, 2 passes, 1 lane): about as slow as a login can afford on a small
// server, while memory-hardness is what makes GPU guessing expensive. Deployments with more memory
// to spare may raise them (e.g. through a setting); existing hashes then upgrade at next login.
// A plain value type: thread-compatible.
struct Argon2Params {
  uint32_t memory_kib = 19456;
  uint32_t iterations = 2;
  uint32_t parallelism = 1;

  bool operator==(const Argon2Params&) const = default;
};

// Upper bounds on the parameters we hash with or agree to verify. A stored hash is data: without a
// bound, one with m=4194304 would make every login allocate 4 GiB.
inline constexpr uint32_t kMaxArgon2MemoryKib = 1u << 20;  // 1 GiB
inline constexpr uint32_t kMaxArgon2Iterations = 64;
inline constexpr uint32_t kMaxArgon2Parallelism = 16;

// Bytes of random salt and of hash output in every hash we produce.
inline constexpr size_t kArgon2SaltBytes = 16;
inline constexpr size_t kArgon2HashBytes = 32;

// The password policy (CheckPasswordPolicy):
//  - at least kMinPasswordChars characters (Unicode code points, so non-ASCII passwords are not
//    penalised for their UTF-8 length), and valid UTF-8;
//  - at most kMaxPasswordBytes bytes, which bounds the work an unauthenticated request can cause;
//  - not the user's email address, nor the part of it before the '@' (compared ignoring ASCII
//    case);
//  - not one character repeated ("aaaaaaaaaa").
// Length beats composition rules (NIST SP 800-63B), so there are no "one digit, one symbol" rules.
inline constexpr size_t kMinPasswordChars = 10;
inline constexpr size_t kMaxPasswordBytes = 256;

// Throws core::Error(kValidation) naming the parameter when `params` is outside what libargon2
// accepts or above the bounds above. For a setting that configures the cost.
void ValidateArgon2Params(const Argon2Params& params);

// Hashes `password` with argon2id, a fresh 16-byte salt from OpenSSL's CSPRNG and `params` (no
// default on purpose: callers pass the configured cost). Returns the PHC-encoded string.
// Throws core::Error(kValidation) for a password over kMaxPasswordBytes or invalid params, and
// kInternal if the random source or libargon2 fails (e.g. out of memory).
// Safe for concurrent use; each call allocates params.memory_kib KiB for its duration.
std::string HashPassword(std::string_view password, const Argon2Params& params);

// Whether `password` matches the PHC string `encoded` (compared in constant time by libargon2).
// False, not an exception, for a mismatch, an encoding that is not one of ours (not argon2id v19,
// malformed, parameters above the bounds) and a password over kMaxPasswordBytes (no stored hash
// can match one). Throws core::Error(kInternal) only when the hash could not be computed (out of
// memory, thread failure), so that a server fault is not reported as a wrong password.
// Safe for concurrent use.
bool VerifyPassword(std::string_view password, std::string_view encoded);

// Whether a hash that just verified should be replaced by HashPassword(password, current): true
// when its memory, iterations or parallelism is below `current`'s, its salt or hash is shorter
// than ours, or it cannot be parsed. Parameters above `current` are kept (never downgrade).
bool NeedsRehash(std::string_view encoded, const Argon2Params& current);

// Throws core::Error(kValidation) with a message for the user (which never repeats the password)
// when `password` breaks the policy above. `email` may be empty (no email checks then).
void CheckPasswordPolicy(std::string_view password, std::string_view email);

}  // namespace playground::auth
