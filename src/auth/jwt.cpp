#include "auth/jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <optional>

#include "auth/base64url.h"
#include "core/error.h"

namespace playground::auth {
namespace {

constexpr size_t kSignatureBytes = 32;  // SHA-256 output

[[noreturn]] void Reject(const std::string& why) { core::Fail(core::ErrorCode::kUnauthenticated, why); }

void RequireSecret(std::string_view secret) {
  if (secret.empty()) core::Fail(core::ErrorCode::kInternal, "the token signing key is empty");
}

std::array<unsigned char, kSignatureBytes> HmacSha256(std::string_view secret, std::string_view data) {
  std::array<unsigned char, kSignatureBytes> mac{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &len) == nullptr ||
      len != mac.size()) {
    core::Fail(core::ErrorCode::kInternal, "HMAC-SHA256 failed");
  }
  return mac;
}

// Decodes one base64url segment and parses it as a JSON object; nullopt otherwise.
std::optional<nlohmann::json> DecodeObject(std::string_view segment) {
  auto bytes = Base64UrlDecode(segment);
  if (!bytes) return std::nullopt;
  // No exceptions: a parse failure yields a discarded value. The parser also rejects invalid UTF-8.
  nlohmann::json value = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

// The numeric date `name` (seconds since the epoch, possibly fractional) if present.
// Throws when it is present but not a number.
std::optional<double> NumericDate(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (!it->is_number()) Reject(std::string("token claim '") + name + "' is not a number");
  return it->get<double>();
}

}  // namespace

std::string SignJwt(const nlohmann::json& claims, std::string_view secret) {
  RequireSecret(secret);
  if (!claims.is_object()) core::Fail(core::ErrorCode::kInvalidArgument, "JWT claims must be a JSON object");
  std::string payload;
  try {
    payload = claims.dump();
  } catch (const nlohmann::json::exception&) {
    core::Fail(core::ErrorCode::kInvalidArgument, "JWT claims contain invalid UTF-8");
  }
  // The header is fixed, byte for byte: nothing a caller passes can change the algorithm.
  std::string signing_input = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + Base64UrlEncode(payload);
  auto mac = HmacSha256(secret, signing_input);
  return signing_input + "." + Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

nlohmann::json VerifyJwt(std::string_view token, std::string_view secret, std::string_view expected_issuer,
                         const core::Clock& clock, std::chrono::seconds leeway) {
  RequireSecret(secret);
  if (token.empty()) Reject("token is empty");
  if (token.size() > kMaxJwtBytes) Reject("token is too long");

  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    Reject("malformed token: expected three dot-separated segments");
  }
  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view signature_b64 = token.substr(dot2 + 1);

  // The header is read only to refuse anything but HS256; the algorithm used below is fixed.
  auto header = DecodeObject(header_b64);
  if (!header) Reject("malformed token header");
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256") {
    Reject("unsupported token algorithm (only HS256 is accepted)");
  }
  // RFC 7515 4.1.11: a verifier must reject a token whose critical extensions it does not know.
  if (header->contains("crit")) Reject("unsupported critical token header");

  auto signature = Base64UrlDecode(signature_b64);
  if (!signature) Reject("malformed token signature");
  auto expected = HmacSha256(secret, token.substr(0, dot2));
  if (signature->size() != expected.size() || CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    Reject("bad token signature");
  }

  auto claims = DecodeObject(payload_b64);
  if (!claims) Reject("malformed token payload");

  double now = std::chrono::duration<double>(clock.Now().time_since_epoch()).count();
  double slack = static_cast<double>(std::max<std::chrono::seconds::rep>(leeway.count(), 0));
  auto exp = NumericDate(*claims, "exp");
  if (!exp) Reject("token has no expiry");
  if (now >= *exp + slack) Reject("token expired");
  auto nbf = NumericDate(*claims, "nbf");
  if (nbf && *nbf > now + slack) Reject("token not yet valid");
  auto iat = NumericDate(*claims, "iat");
  if (iat && *iat > now + slack) Reject("token issued in the future");

  auto iss = claims->find("iss");
  if (iss == claims->end() || !iss->is_string() || iss->get_ref<const std::string&>() != expected_issuer) {
    Reject("token issuer is not accepted");
  }
  return std::move(*claims);
}

}  // namespace playground::auth
