#include "auth/tokens.h"

#include <gtest/gtest.h>

#include <set>

#include "auth/base64url.h"

namespace playground::auth {
namespace {

TEST(TokensTest, OpaqueTokenIsPrefixPlus256BitsOfBase64Url) {
  std::string token = NewOpaqueToken(kRefreshTokenPrefix);
  ASSERT_EQ(token.substr(0, 4), "pgr_");
  std::string body = token.substr(4);
  EXPECT_EQ(body.size(), 43u);
  auto raw = Base64UrlDecode(body);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->size(), kOpaqueTokenBytes);
  EXPECT_EQ(NewOpaqueToken(kApiKeyPrefix).substr(0, 4), "pgk_");
  EXPECT_EQ(NewOpaqueToken("").size(), 43u);
}

TEST(TokensTest, OpaqueTokensDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(NewOpaqueToken(kApiKeyPrefix)).second);
}

TEST(TokensTest, HashTokenIsLowercaseHexSha256) {
  EXPECT_EQ(HashToken(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string token = NewOpaqueToken(kRefreshTokenPrefix);
  EXPECT_EQ(HashToken(token), HashToken(token));
  EXPECT_EQ(HashToken(token).size(), 64u);
  EXPECT_NE(HashToken(token), HashToken(NewOpaqueToken(kRefreshTokenPrefix)));
}

TEST(TokensTest, HashTokenCoversThePrefix) {
  std::string token = NewOpaqueToken(kRefreshTokenPrefix);
  std::string as_api_key = std::string(kApiKeyPrefix) + token.substr(kRefreshTokenPrefix.size());
  EXPECT_NE(HashToken(token), HashToken(as_api_key));
}

TEST(TokensTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  EXPECT_TRUE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace playground::auth
