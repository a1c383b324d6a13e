#include "auth/jwt.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/base64url.h"
#include "core/error.h"

namespace playground::auth {
namespace {

using std::chrono::seconds;

constexpr std::string_view kSecret = "test-secret-0123456789-0123456789-abcdef";
constexpr std::string_view kIssuer = "playground";
constexpr int64_t kNow = 1'700'000'000;

core::ManualClock ClockAt(int64_t unix_seconds) {
  return core::ManualClock(std::chrono::system_clock::time_point(seconds(unix_seconds)));
}

nlohmann::json Claims(int64_t exp = kNow + 900) {
  return {{"iss", kIssuer}, {"sub", "user-1"}, {"iat", kNow}, {"exp", exp}};
}

std::string B64(std::string_view s) { return Base64UrlEncode(s); }

// A token with any header and payload text, correctly HS256-signed with `secret`: lets the tests
// reach the checks that come after the signature, and forge headers the signer never writes.
std::string Forge(std::string_view header, std::string_view payload, std::string_view secret = kSecret) {
  std::string input = B64(header) + "." + B64(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + B64(std::string_view(reinterpret_cast<const char*>(mac), len));
}

// The message of the core::Error(kUnauthenticated) VerifyJwt throws, or "" if it accepts.
std::string Rejection(std::string_view token, int64_t now = kNow, std::string_view secret = kSecret,
                      std::string_view issuer = kIssuer) {
  auto clock = ClockAt(now);
  try {
    VerifyJwt(token, secret, issuer, clock);
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kUnauthenticated) << e.what();
    return e.what();
  }
  return "";
}

TEST(JwtTest, RoundTrip) {
  std::string token = SignJwt(Claims(), kSecret);
  auto clock = ClockAt(kNow);
  nlohmann::json claims = VerifyJwt(token, kSecret, kIssuer, clock);
  EXPECT_EQ(claims, Claims());
  EXPECT_EQ(claims["sub"], "user-1");
}

TEST(JwtTest, HeaderIsFixedHs256) {
  std::string token = SignJwt(Claims(), kSecret);
  auto header = Base64UrlDecode(token.substr(0, token.find('.')));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(nlohmann::json::parse(*header), nlohmann::json({{"alg", "HS256"}, {"typ", "JWT"}}));
  EXPECT_EQ(token.find('='), std::string::npos);
  EXPECT_EQ(token.find('+'), std::string::npos);
  EXPECT_EQ(token.find('/'), std::string::npos);
}

TEST(JwtTest, VerifiesRfc7515ExampleA1) {
  // RFC 7515 appendix A.1: HS256 with a header and payload formatted differently from ours.
  auto key = Base64UrlDecode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  ASSERT_TRUE(key.has_value());
  const char* kToken =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  auto clock = ClockAt(1300819380 - 60);
  nlohmann::json claims = VerifyJwt(kToken, *key, "joe", clock);
  EXPECT_EQ(claims["http://example.com/is_root"], true);
}

TEST(JwtTest, TamperedPayloadIsABadSignature) {
  std::string token = SignJwt(Claims(), kSecret);
  size_t dot1 = token.find('.');
  size_t dot2 = token.find('.', dot1 + 1);
  nlohmann::json admin = Claims();
  admin["sub"] = "admin";
  std::string tampered = token.substr(0, dot1 + 1) + B64(admin.dump()) + token.substr(dot2);
  EXPECT_EQ(Rejection(tampered), "bad token signature");
}

TEST(JwtTest, TamperedSignatureIsABadSignature) {
  std::string token = SignJwt(Claims(), kSecret);
  // Flip the first signature character (its bits are all significant, so it stays canonical).
  std::string tampered = token;
  char& c = tampered[tampered.rfind('.') + 1];
  c = c == 'A' ? 'B' : 'A';
  EXPECT_EQ(Rejection(tampered), "bad token signature");
  // A truncated or extended signature has the wrong length.
  EXPECT_EQ(Rejection(token.substr(0, token.size() - 4)), "bad token signature");
  EXPECT_EQ(Rejection(token + "AAAA"), "bad token signature");
  // Empty signature.
  EXPECT_EQ(Rejection(token.substr(0, token.rfind('.') + 1)), "bad token signature");
}

TEST(JwtTest, WrongSecretIsABadSignature) {
  std::string token = SignJwt(Claims(), kSecret);
  EXPECT_EQ(Rejection(token, kNow, "another-secret-0123456789-0123456789"), "bad token signature");
}

TEST(JwtTest, ExpiresAfterExpPlusLeeway) {
  std::string token = SignJwt(Claims(kNow + 900), kSecret);
  auto clock = ClockAt(kNow);
  EXPECT_NO_THROW(VerifyJwt(token, kSecret, kIssuer, clock));
  clock.Advance(seconds(900 + 29));
  EXPECT_NO_THROW(VerifyJwt(token, kSecret, kIssuer, clock));  // within the default 30 s leeway
  clock.Advance(seconds(1));
  try {
    VerifyJwt(token, kSecret, kIssuer, clock);
    ADD_FAILURE() << "accepted an expired token";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kUnauthenticated);
    EXPECT_STREQ(e.what(), "token expired");
  }
  EXPECT_EQ(Rejection(token, kNow + 3600), "token expired");
}

TEST(JwtTest, LeewayIsConfigurableAndNeverNegative) {
  std::string token = SignJwt(Claims(kNow + 10), kSecret);
  auto clock = ClockAt(kNow + 10);
  EXPECT_THROW(VerifyJwt(token, kSecret, kIssuer, clock, seconds(0)), core::Error);
  EXPECT_NO_THROW(VerifyJwt(token, kSecret, kIssuer, clock, seconds(1)));
  EXPECT_THROW(VerifyJwt(token, kSecret, kIssuer, clock, seconds(-100)), core::Error);
  clock.Advance(seconds(-1));
  EXPECT_NO_THROW(VerifyJwt(token, kSecret, kIssuer, clock, seconds(-100)));
}

TEST(JwtTest, MissingOrNonNumericExpIsRejected) {
  nlohmann::json claims = Claims();
  claims.erase("exp");
  EXPECT_EQ(Rejection(SignJwt(claims, kSecret)), "token has no expiry");
  claims["exp"] = std::to_string(kNow + 900);
  EXPECT_EQ(Rejection(SignJwt(claims, kSecret)), "token claim 'exp' is not a number");
  claims["exp"] = true;
  EXPECT_EQ(Rejection(SignJwt(claims, kSecret)), "token claim 'exp' is not a number");
  claims["exp"] = nullptr;
  EXPECT_EQ(Rejection(SignJwt(claims, kSecret)), "token claim 'exp' is not a number");
}

TEST(JwtTest, FractionalNumericDatesAreAccepted) {
  nlohmann::json claims = Claims();
  claims["exp"] = kNow + 0.5;
  EXPECT_EQ(Rejection(SignJwt(claims, kSecret), kNow, kSecret), "");
  EXPECT_EQ(Rejection(SignJwt(claims, kSecret), kNow + 31, kSecret), "token expired");
}

TEST(JwtTest, NotYetValidTokensAreRejected) {
  nlohmann::json claims = Claims(kNow + 3600);
  claims["nbf"] = kNow + 600;
  std::string token = SignJwt(claims, kSecret);
  EXPECT_EQ(Rejection(token), "token not yet valid");
  EXPECT_EQ(Rejection(token, kNow + 570), "");  // within leeway
  EXPECT_EQ(Rejection(token, kNow + 600), "");

  nlohmann::json future = Claims(kNow + 3600);
  future["iat"] = kNow + 600;
  EXPECT_EQ(Rejection(SignJwt(future, kSecret)), "token issued in the future");
  future["iat"] = kNow + 30;
  EXPECT_EQ(Rejection(SignJwt(future, kSecret)), "");
  future["iat"] = "now";
  EXPECT_EQ(Rejection(SignJwt(future, kSecret)), "token claim 'iat' is not a number");
}

TEST(JwtTest, WrongOrMissingIssuerIsRejected) {
  std::string token = SignJwt(Claims(), kSecret);
  EXPECT_EQ(Rejection(token, kNow, kSecret, "someone-else"), "token issuer is not accepted");
  nlohmann::json claims = Claims();
  claims.erase("iss");
  EXPECT_EQ(Rejection(SignJwt(claims, kSecret)), "token issuer is not accepted");
  claims["iss"] = nlohmann::json::array({kIssuer});
  EXPECT_EQ(Rejection(SignJwt(claims, kSecret)), "token issuer is not accepted");
}

TEST(JwtTest, AlgNoneWithEmptySignatureIsRejected) {
  std::string token = B64(R"({"alg":"none","typ":"JWT"})") + "." + B64(Claims().dump()) + ".";
  EXPECT_EQ(Rejection(token), "unsupported token algorithm (only HS256 is accepted)");
  // Case variations and the same with a valid HS256 signature.
  EXPECT_EQ(Rejection(Forge(R"({"alg":"None"})", Claims().dump())),
            "unsupported token algorithm (only HS256 is accepted)");
  EXPECT_EQ(Rejection(Forge(R"({"alg":"none"})", Claims().dump())),
            "unsupported token algorithm (only HS256 is accepted)");
}

TEST(JwtTest, OtherAlgorithmsAreRejectedEvenWithAValidHs256Signature) {
  for (const char* header :
       {R"({"alg":"HS512","typ":"JWT"})", R"({"alg":"RS256","typ":"JWT"})", R"({"alg":"hs256","typ":"JWT"})",
        R"({"alg":"HS256 ","typ":"JWT"})", R"({"alg":["HS256"],"typ":"JWT"})", R"({"typ":"JWT"})", R"({"alg":null})"}) {
    EXPECT_EQ(Rejection(Forge(header, Claims().dump())), "unsupported token algorithm (only HS256 is accepted)")
        << header;
  }
  // The same forge with the right header is accepted, so it was the header that was refused.
  EXPECT_EQ(Rejection(Forge(R"({"alg":"HS256","typ":"JWT"})", Claims().dump())), "");
  EXPECT_EQ(Rejection(Forge(R"({"alg":"HS256"})", Claims().dump())), "");
}

TEST(JwtTest, CriticalHeaderExtensionsAreRejected) {
  EXPECT_EQ(Rejection(Forge(R"({"alg":"HS256","crit":["exp"],"exp":1})", Claims().dump())),
            "unsupported critical token header");
}

TEST(JwtTest, WrongSegmentCountIsRejected) {
  std::string token = SignJwt(Claims(), kSecret);
  const std::string kMessage = "malformed token: expected three dot-separated segments";
  EXPECT_EQ(Rejection(token.substr(0, token.rfind('.'))), kMessage);  // two segments
  EXPECT_EQ(Rejection(token + ".x"), kMessage);
  EXPECT_EQ(Rejection(token + "."), kMessage);
  EXPECT_EQ(Rejection("abc"), kMessage);
  EXPECT_EQ(Rejection(".."), "malformed token header");
  EXPECT_EQ(Rejection(""), "token is empty");
}

TEST(JwtTest, GarbageBase64IsRejected) {
  std::string token = SignJwt(Claims(), kSecret);
  size_t dot1 = token.find('.');
  size_t dot2 = token.find('.', dot1 + 1);
  EXPECT_EQ(Rejection("!!!" + token.substr(dot1)), "malformed token header");
  EXPECT_EQ(Rejection(token.substr(0, dot2 + 1) + "a+b/c="), "malformed token signature");
  EXPECT_EQ(Rejection(token.substr(0, dot2 + 1) + "$$$"), "malformed token signature");
  // Padding on an otherwise valid token.
  EXPECT_EQ(Rejection(token.substr(0, dot1) + "=" + token.substr(dot1)), "malformed token header");
  // A payload that is not base64url still fails the signature first (it is signed text).
  std::string bad_payload = token.substr(0, dot1 + 1) + "*" + token.substr(dot2);
  EXPECT_EQ(Rejection(bad_payload), "bad token signature");
  // The same, correctly signed, fails as a malformed payload.
  std::string header = token.substr(0, dot1);
  std::string input = header + ".*";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  EXPECT_EQ(Rejection(input + "." + B64(std::string_view(reinterpret_cast<const char*>(mac), len))),
            "malformed token payload");
}

TEST(JwtTest, HeaderThatIsNotAJsonObjectIsRejected) {
  EXPECT_EQ(Rejection(Forge("[\"HS256\"]", Claims().dump())), "malformed token header");
  EXPECT_EQ(Rejection(Forge("{\"alg\":\"HS256\"", Claims().dump())), "malformed token header");
  EXPECT_EQ(Rejection(Forge("", Claims().dump())), "malformed token header");
}

TEST(JwtTest, NonObjectPayloadIsRejected) {
  for (const char* payload : {"[1,2,3]", "\"sub\"", "42", "null", "{\"exp\":", "", "{\"a\":\"\xff\"}"}) {
    EXPECT_EQ(Rejection(Forge(R"({"alg":"HS256"})", payload)), "malformed token payload") << payload;
  }
}

TEST(JwtTest, OverlongTokensAreRejectedBeforeParsing) {
  nlohmann::json claims = Claims();
  claims["padding"] = std::string(kMaxJwtBytes, 'x');
  std::string token = SignJwt(claims, kSecret);
  ASSERT_GT(token.size(), kMaxJwtBytes);
  EXPECT_EQ(Rejection(token), "token is too long");
  EXPECT_EQ(Rejection(std::string(1 << 20, 'a')), "token is too long");
}

TEST(JwtTest, MessagesNeverEchoTheToken) {
  std::string token = SignJwt(Claims(kNow - 3600), kSecret);
  for (const std::string& bad : {token, token.substr(0, token.rfind('.')), token + "x"}) {
    std::string message = Rejection(bad);
    ASSERT_NE(message, "");
    for (size_t at = 0; at + 8 <= bad.size(); at += 8) {
      EXPECT_EQ(message.find(bad.substr(at, 8)), std::string::npos) << message;
    }
  }
}

TEST(JwtTest, SignerRefusesNonObjectsAndEmptySecrets) {
  try {
    SignJwt(nlohmann::json::array({1}), kSecret);
    ADD_FAILURE();
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kInvalidArgument);
  }
  try {
    SignJwt({{"sub", "\xff"}}, kSecret);
    ADD_FAILURE();
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kInvalidArgument);
  }
  try {
    SignJwt(Claims(), "");
    ADD_FAILURE();
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kInternal);
  }
  auto clock = ClockAt(kNow);
  try {
    VerifyJwt(SignJwt(Claims(), kSecret), "", kIssuer, clock);
    ADD_FAILURE();
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kInternal);
  }
}

}  // namespace
}  // namespace playground::auth
