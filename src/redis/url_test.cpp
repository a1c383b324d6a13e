#include "redis/url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"

namespace playground::redis {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

core::Error ParseError(std::string_view url) {
  try {
    ParseRedisUrl(url);
  } catch (const core::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for " << url;
  return core::Error(core::ErrorCode::kInternal, "");
}

TEST(RedisUrlTest, ParsesHostPortAndDatabase) {
  RedisAddress a = ParseRedisUrl("redis://cache.internal:6380/2");
  EXPECT_EQ(a.host, "cache.internal");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.db, 2);
  EXPECT_EQ(a.user, "");
  EXPECT_EQ(a.password, "");
}

TEST(RedisUrlTest, DefaultsPortAndDatabase) {
  RedisAddress a = ParseRedisUrl("redis://localhost");
  EXPECT_EQ(a.host, "localhost");
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.db, 0);
  EXPECT_EQ(ParseRedisUrl("redis://localhost/").db, 0);
}

TEST(RedisUrlTest, ParsesPasswordWithAndWithoutUser) {
  RedisAddress a = ParseRedisUrl("redis://:s3cret@127.0.0.1:6379/1");
  EXPECT_EQ(a.user, "");
  EXPECT_EQ(a.password, "s3cret");
  RedisAddress b = ParseRedisUrl("redis://worker:p%40ss%3Aw0rd@127.0.0.1:6379/0");
  EXPECT_EQ(b.user, "worker");
  EXPECT_EQ(b.password, "p@ss:w0rd");
  EXPECT_EQ(b.host, "127.0.0.1");
}

TEST(RedisUrlTest, AnUnencodedAtSignStaysInThePassword) {
  RedisAddress a = ParseRedisUrl("redis://:pa@ss@db:1234");
  EXPECT_EQ(a.password, "pa@ss");
  EXPECT_EQ(a.host, "db");
  EXPECT_EQ(a.port, 1234);
}

TEST(RedisUrlTest, ParsesIpv6) {
  RedisAddress a = ParseRedisUrl("redis://[::1]:7000/3");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 7000);
  EXPECT_EQ(a.db, 3);
}

TEST(RedisUrlTest, RejectsTlsWithAnExplanation) {
  core::Error e = ParseError("rediss://:topsecret@cache:6380/0");
  EXPECT_EQ(e.code(), core::ErrorCode::kValidation);
  EXPECT_THAT(e.what(), HasSubstr("TLS to Redis is not supported; use a local TLS tunnel"));
  EXPECT_THAT(e.what(), Not(HasSubstr("topsecret")));
}

TEST(RedisUrlTest, RejectsMalformedUrlsWithoutThePassword) {
  for (std::string_view url :
       {"http://host", "redis://", "redis://:topsecret@", "redis://:topsecret@host:0", "redis://:topsecret@host:99999",
        "redis://:topsecret@host:port", "redis://:topsecret@host/db", "redis://:topsecret@host/-1",
        "redis://:topsecret@host/1?timeout=3", "redis://topsecret@host", "redis://user:@host",
        "redis://:top%zzsecret@host", "redis://[::1"}) {
    core::Error e = ParseError(url);
    EXPECT_EQ(e.code(), core::ErrorCode::kValidation) << url;
    EXPECT_THAT(e.what(), Not(HasSubstr("topsecret"))) << url;
  }
}

TEST(RedisUrlTest, Redacts) {
  EXPECT_EQ(RedactRedisUrl("redis://:s3cret@h:1/0"), "redis://:***@h:1/0");
  EXPECT_EQ(RedactRedisUrl("redis://u:s3cret@h:1/0"), "redis://u:***@h:1/0");
  EXPECT_EQ(RedactRedisUrl("redis://s3cret@h:1/0"), "redis://***@h:1/0");
  EXPECT_EQ(RedactRedisUrl("redis://:pa@ss@h"), "redis://:***@h");
  EXPECT_EQ(RedactRedisUrl("redis://h:1/0"), "redis://h:1/0");
}

}  // namespace
}  // namespace playground::redis
