#include "auth/password.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include "core/error.h"

namespace playground::auth {
namespace {

[[noreturn]] void Invalid(const std::string& why) { core::Fail(core::ErrorCode::kValidation, why); }

// What ParseEncoded learns from a PHC string, without decoding the salt and hash.
struct EncodedInfo {
  Argon2Params params;
  size_t salt_bytes = 0;
  size_t hash_bytes = 0;
};

// Consumes `literal` from the front of `s`.
bool Eat(std::string_view& s, std::string_view literal) {
  if (s.substr(0, literal.size()) != literal) return false;
  s.remove_prefix(literal.size());
  return true;
}

// Consumes a decimal uint32 (no sign, no leading zeros) from the front of `s`.
bool EatNumber(std::string_view& s, uint32_t& out) {
  if (s.empty() || (s[0] == '0' && s.size() > 1 && s[1] >= '0' && s[1] <= '9')) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc()) return false;
  s.remove_prefix(static_cast<size_t>(end - s.data()));
  return true;
}

// Consumes unpadded standard base64 (the PHC alphabet) up to the next '$' or the end; returns
// the number of bytes it encodes.
std::optional<size_t> EatBase64(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && s[n] != '$') {
    char c = s[n];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (!ok) return std::nullopt;
    ++n;
  }
  if (n == 0 || n % 4 == 1) return std::nullopt;
  s.remove_prefix(n);
  return n * 3 / 4;
}

// Parses exactly the form libargon2 writes for argon2id version 19:
// $argon2id$v=19$m=<kib>,t=<iterations>,p=<lanes>$<salt>$<hash>.
std::optional<EncodedInfo> ParseEncoded(std::string_view s) {
  EncodedInfo info;
  if (!Eat(s, "$argon2id$v=19$m=") || !EatNumber(s, info.params.memory_kib) || !Eat(s, ",t=") ||
      !EatNumber(s, info.params.iterations) || !Eat(s, ",p=") || !EatNumber(s, info.params.parallelism) ||
      !Eat(s, "$")) {
    return std::nullopt;
  }
  auto salt = EatBase64(s);
  if (!salt || !Eat(s, "$")) return std::nullopt;
  auto hash = EatBase64(s);
  if (!hash || !s.empty()) return std::nullopt;
  info.salt_bytes = *salt;
  info.hash_bytes = *hash;
  return info;
}

// The reason `params` cannot be used, or empty.
std::string ParamsProblem(const Argon2Params& p) {
  if (p.parallelism < 1 || p.parallelism > kMaxArgon2Parallelism) {
    return "argon2 parallelism must be 1.." + std::to_string(kMaxArgon2Parallelism);
  }
  if (p.iterations < 1 || p.iterations > kMaxArgon2Iterations) {
    return "argon2 iterations must be 1.." + std::to_string(kMaxArgon2Iterations);
  }
  // libargon2 needs 8 KiB per lane (ARGON2_MEMORY_TOO_LITTLE below that).
  uint32_t min_memory = 8 * p.parallelism;
  if (p.memory_kib < min_memory || p.memory_kib > kMaxArgon2MemoryKib) {
    return "argon2 memory must be " + std::to_string(min_memory) + ".." + std::to_string(kMaxArgon2MemoryKib) +
           " KiB for parallelism " + std::to_string(p.parallelism);
  }
  return "";
}

// Decodes `s` as UTF-8 into code points; nullopt for anything that is not well-formed UTF-8
// (stray continuation bytes, truncated sequences, overlong forms, surrogates, > U+10FFFF).
std::optional<std::vector<char32_t>> DecodeUtf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (b < 0x80) {
      len = 1, cp = b;
    } else if ((b & 0xe0) == 0xc0) {
      len = 2, cp = b & 0x1f, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
      len = 3, cp = b & 0x0f, min = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
      len = 4, cp = b & 0x07, min = 0x10000;
    } else {
      return std::nullopt;
    }
    if (i + len > s.size()) return std::nullopt;
    for (size_t k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
    out.push_back(cp);
    i += len;
  }
  return out;
}

bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

void ValidateArgon2Params(const Argon2Params& params) {
  if (std::string problem = ParamsProblem(params); !problem.empty()) Invalid(problem);
}

std::string HashPassword(std::string_view password, const Argon2Params& params) {
  if (password.size() > kMaxPasswordBytes) {
    Invalid("password must be at most " + std::to_string(kMaxPasswordBytes) + " bytes long");
  }
  ValidateArgon2Params(params);
  std::array<unsigned char, kArgon2SaltBytes> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    core::Fail(core::ErrorCode::kInternal, "the random source failed");
  }
  // argon2_encodedlen counts the terminating NUL.
  std::string encoded(argon2_encodedlen(params.iterations, params.memory_kib, params.parallelism, kArgon2SaltBytes,
                                        kArgon2HashBytes, Argon2_id),
                      '\0');
  // libargon2 rejects a null pointer even with length 0 in some versions; "" is never null.
  const char* pwd = password.empty() ? "" : password.data();
  int rc = argon2id_hash_encoded(params.iterations, params.memory_kib, params.parallelism, pwd, password.size(),
                                 salt.data(), salt.size(), kArgon2HashBytes, encoded.data(), encoded.size());
  OPENSSL_cleanse(salt.data(), salt.size());
  if (rc != ARGON2_OK) {
    core::Fail(core::ErrorCode::kInternal, std::string("argon2 hashing failed: ") + argon2_error_message(rc));
  }
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

bool VerifyPassword(std::string_view password, std::string_view encoded) {
  if (password.size() > kMaxPasswordBytes) return false;
  auto info = ParseEncoded(encoded);
  if (!info || !ParamsProblem(info->params).empty()) return false;
  // libargon2 wants a NUL-terminated string; a string_view need not be one.
  std::string encoded_z(encoded);
  const char* pwd = password.empty() ? "" : password.data();
  int rc = argon2id_verify(encoded_z.c_str(), pwd, password.size());
  switch (rc) {
    case ARGON2_OK: return true;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
    case ARGON2_THREAD_FAIL:
      core::Fail(core::ErrorCode::kInternal, std::string("argon2 verification failed: ") + argon2_error_message(rc));
    default:
      // ARGON2_VERIFY_MISMATCH, or a decoding/parameter error: an unusable hash matches nothing.
      return false;
  }
}

bool NeedsRehash(std::string_view encoded, const Argon2Params& current) {
  auto info = ParseEncoded(encoded);
  if (!info) return true;
  const Argon2Params& p = info->params;
  return p.memory_kib < current.memory_kib || p.iterations < current.iterations ||
         p.parallelism < current.parallelism || info->salt_bytes < kArgon2SaltBytes ||
         info->hash_bytes < kArgon2HashBytes;
}

void CheckPasswordPolicy(std::string_view password, std::string_view email) {
  // The byte bound comes first so that nothing below runs on an oversized input.
  if (password.size() > kMaxPasswordBytes) {
    Invalid("password must be at most " + std::to_string(kMaxPasswordBytes) + " bytes long");
  }
  auto chars = DecodeUtf8(password);
  if (!chars) Invalid("password must be valid UTF-8 text");
  if (chars->size() < kMinPasswordChars) {
    Invalid("password must be at least " + std::to_string(kMinPasswordChars) + " characters long");
  }
  bool one_repeated = true;
  for (char32_t c : *chars) one_repeated = one_repeated && c == chars->front();
  if (one_repeated) Invalid("password must not be a single character repeated");
  if (!email.empty()) {
    if (EqualsIgnoringAsciiCase(password, email)) Invalid("password must not be your email address");
    // The local part is everything before the last '@' (a quoted local part may contain '@').
    size_t at = email.rfind('@');
    if (at != std::string_view::npos && at > 0 && EqualsIgnoringAsciiCase(password, email.substr(0, at))) {
      Invalid("password must not be the part of your email address before the '@'");
    }
  }
}

}  // namespace playground::auth
