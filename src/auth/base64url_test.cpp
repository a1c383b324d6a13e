#include "auth/base64url.h"

#include <gtest/gtest.h>

namespace playground::auth {
namespace {

TEST(Base64UrlTest, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
}

TEST(Base64UrlTest, UsesTheUrlSafeAlphabet) {
  // Standard base64 would give "+/8=".
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8"), std::optional<std::string>("\xfb\xff"));
}

TEST(Base64UrlTest, DecodesRfc4648Vectors) {
  EXPECT_EQ(Base64UrlDecode(""), std::optional<std::string>(""));
  EXPECT_EQ(Base64UrlDecode("Zg"), std::optional<std::string>("f"));
  EXPECT_EQ(Base64UrlDecode("Zm8"), std::optional<std::string>("fo"));
  EXPECT_EQ(Base64UrlDecode("Zm9v"), std::optional<std::string>("foo"));
  EXPECT_EQ(Base64UrlDecode("Zm9vYmFy"), std::optional<std::string>("foobar"));
}

TEST(Base64UrlTest, RoundTripsEveryByteValueAndLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); ++n) {
    std::string bytes = all.substr(all.size() - n);
    auto decoded = Base64UrlDecode(Base64UrlEncode(bytes));
    ASSERT_TRUE(decoded.has_value()) << n;
    EXPECT_EQ(*decoded, bytes) << n;
  }
}

TEST(Base64UrlTest, RejectsNonCanonicalText) {
  EXPECT_FALSE(Base64UrlDecode("Zg=="));      // padding
  EXPECT_FALSE(Base64UrlDecode("Zg="));       // padding
  EXPECT_FALSE(Base64UrlDecode("Z"));         // a lone character holds no whole byte
  EXPECT_FALSE(Base64UrlDecode("Zm9vY"));     // same, after a full group
  EXPECT_FALSE(Base64UrlDecode("Zh"));        // unused bits set: "Zg" is the only form of "f"
  EXPECT_FALSE(Base64UrlDecode("Zm9"));       // unused bits set: "Zm8" is the only form of "fo"
  EXPECT_FALSE(Base64UrlDecode("+/8"));       // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("Zm9v Yg"));   // whitespace
  EXPECT_FALSE(Base64UrlDecode("Zm9v\nYg"));  // newline
  EXPECT_FALSE(Base64UrlDecode(std::string_view("Zm\0v", 4)));
  EXPECT_FALSE(Base64UrlDecode("Zm9v\xc3\xa9"));
}

}  // namespace
}  // namespace playground::auth
