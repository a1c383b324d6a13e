#include "redis/redis_client.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/error.h"
#include "testkit/redis_instance.h"

namespace playground::redis {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::Not;

RedisOptions Options(const std::string& url, int pool_size = 8) {
  RedisOptions o;
  o.url = url;
  o.pool_size = pool_size;
  o.connect_timeout = milliseconds(1000);
  o.command_timeout = milliseconds(1000);
  return o;
}

template <typename F>
core::Error CatchError(F&& f) {
  try {
    f();
  } catch (const core::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no core::Error thrown";
  return core::Error(core::ErrorCode::kInternal, "");
}

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override { testkit::SharedRedis().FlushAll(); }
  std::string Url(int db = 0) { return testkit::SharedRedis().Url(db); }
};

TEST_F(RedisClientTest, RoundTripsBinarySafeData) {
  RedisClient client(Options(Url()));
  const std::string key("k\0\r\n\xff", 5);
  std::string value;
  for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
  value += std::string(100000, '\0');

  Reply set = client.Command({"SET", key, value});
  EXPECT_EQ(set.type(), Reply::Type::kStatus);
  EXPECT_EQ(set.str(), "OK");
  Reply get = client.Command({"GET", key});
  ASSERT_EQ(get.type(), Reply::Type::kString);
  EXPECT_EQ(get.str(), value);
  EXPECT_EQ(client.Command({"STRLEN", key}).integer(), static_cast<int64_t>(value.size()));
}

TEST_F(RedisClientTest, ConvertsEveryReplyType) {
  RedisClient client(Options(Url()));
  EXPECT_TRUE(client.Command({"GET", "missing"}).is_nil());
  EXPECT_EQ(client.Command({"INCRBY", "n", "-5"}).integer(), -5);
  client.Command({"RPUSH", "list", "a", "", "c"});
  Reply list = client.Command({"LRANGE", "list", "0", "-1"});
  ASSERT_EQ(list.type(), Reply::Type::kArray);
  ASSERT_EQ(list.elements().size(), 3u);
  EXPECT_EQ(list.elements()[1].str(), "");
  EXPECT_EQ(list.DebugString(), "[\"a\", \"\", \"c\"]");
  Reply mget = client.Command({"MGET", "n", "missing"});
  EXPECT_EQ(mget.elements()[0].str(), "-5");
  EXPECT_TRUE(mget.elements()[1].is_nil());
  // A type mismatch in the accessors is a bug, reported as such.
  EXPECT_EQ(CatchError([&] { mget.integer(); }).code(), core::ErrorCode::kInternal);
}

TEST_F(RedisClientTest, ErrorReplyThrowsInternalWithRedisText) {
  RedisClient client(Options(Url()));
  client.Command({"SET", "s", "not a number"});
  try {
    client.Command({"INCR", "s"});
    FAIL() << "no error";
  } catch (const ServerError& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kInternal);
    EXPECT_EQ(e.prefix(), "ERR");
    EXPECT_THAT(e.what(), HasSubstr("value is not an integer"));
    EXPECT_THAT(e.what(), HasSubstr("INCR"));
  }
  // The connection stays usable after an error reply.
  EXPECT_EQ(client.Command({"GET", "s"}).str(), "not a number");
  EXPECT_EQ(client.Stats().idle, 1);
}

TEST_F(RedisClientTest, ErrorsInsideExecStayInTheArray) {
  RedisClient client(Options(Url(), 1));  // one connection, so MULTI and EXEC share it
  client.Command({"SET", "s", "text"});
  client.Command({"MULTI"});
  client.Command({"INCR", "s"});
  client.Command({"SET", "t", "1"});
  Reply exec = client.Command({"EXEC"});
  ASSERT_EQ(exec.elements().size(), 2u);
  EXPECT_TRUE(exec.elements()[0].is_error());
  EXPECT_EQ(exec.elements()[1].str(), "OK");
}

TEST(RedisErrorTest, ClassifiesServerStateErrorsAsUnavailable) {
  EXPECT_EQ(ClassifyErrorReply("LOADING Redis is loading the dataset in memory"), core::ErrorCode::kUnavailable);
  EXPECT_EQ(ClassifyErrorReply("BUSY Redis is busy running a script"), core::ErrorCode::kUnavailable);
  EXPECT_EQ(ClassifyErrorReply("NOAUTH Authentication required."), core::ErrorCode::kUnavailable);
  EXPECT_EQ(ClassifyErrorReply("BUSYGROUP Consumer Group name already exists"), core::ErrorCode::kInternal);
  EXPECT_EQ(ClassifyErrorReply("ERR syntax error"), core::ErrorCode::kInternal);
}

TEST_F(RedisClientTest, SelectsTheDatabaseFromTheUrl) {
  RedisClient db3(Options(Url(3)));
  RedisClient db0(Options(Url(0)));
  db3.Command({"SET", "where", "three"});
  EXPECT_TRUE(db0.Command({"GET", "where"}).is_nil());
  EXPECT_EQ(db3.Command({"GET", "where"}).str(), "three");
}

TEST_F(RedisClientTest, PoolServesConcurrentCallers) {
  RedisClient client(Options(Url(), 4));
  constexpr int kThreads = 8;
  constexpr int kIncrements = 250;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        try {
          client.Command({"INCR", "counter"});
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(client.Command({"GET", "counter"}).str(), std::to_string(kThreads * kIncrements));
  RedisPoolStats stats = client.Stats();
  EXPECT_EQ(stats.size, 4);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_GE(stats.idle, 1);
  EXPECT_LE(stats.idle, 4);
}

int EvalCalls(RedisClient& client) {
  std::string info = client.Command({"INFO", "commandstats"}).str();
  size_t at = info.find("cmdstat_eval:calls=");
  if (at == std::string::npos) return 0;
  return std::stoi(info.substr(at + 19));
}

TEST_F(RedisClientTest, EvalRunsScriptsAndCachesThem) {
  RedisClient client(Options(Url(), 2));
  const std::string script = "redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], ARGV[1], tonumber(ARGV[2]) * 2}";
  client.Command({"SCRIPT", "FLUSH"});
  client.Command({"CONFIG", "RESETSTAT"});

  Reply r = client.Eval(script, {"k"}, {"v", "21"});
  ASSERT_EQ(r.elements().size(), 3u);
  EXPECT_EQ(r.elements()[0].str(), "k");
  EXPECT_EQ(r.elements()[1].str(), "v");
  EXPECT_EQ(r.elements()[2].integer(), 42);
  EXPECT_EQ(client.Command({"GET", "k"}).str(), "v");
  EXPECT_EQ(EvalCalls(client), 1);  // NOSCRIPT, then EVAL loaded it

  for (int i = 0; i < 5; ++i) client.Eval(script, {"k"}, {"w", "1"});
  EXPECT_EQ(EvalCalls(client), 1);  // EVALSHA found it every time

  // After a SCRIPT FLUSH (as after a server restart) the fallback loads it again.
  client.Command({"SCRIPT", "FLUSH"});
  EXPECT_EQ(client.Eval(script, {"k"}, {"x", "2"}).elements()[2].integer(), 4);
  EXPECT_EQ(EvalCalls(client), 2);
}

TEST_F(RedisClientTest, ScriptErrorsThrowInternal) {
  RedisClient client(Options(Url()));
  core::Error e = CatchError([&] { client.Eval("return redis.call('NOSUCHCOMMAND')", {}, {}); });
  EXPECT_EQ(e.code(), core::ErrorCode::kInternal);
}

TEST_F(RedisClientTest, PingAnswers) {
  RedisClient client(Options(Url()));
  EXPECT_TRUE(client.Ping());
}

TEST(RedisClientOptionsTest, TlsUrlIsRejectedAtConstruction) {
  core::Error e = CatchError([] { RedisClient client(Options("rediss://:pw@127.0.0.1:6380/0")); });
  EXPECT_EQ(e.code(), core::ErrorCode::kValidation);
  EXPECT_THAT(e.what(), HasSubstr("use a local TLS tunnel"));
}

TEST(RedisClientOutageTest, StoppedServerFailsQuicklyAndRestartRecovers) {
  testkit::RedisInstance redis;
  RedisClient client(Options(redis.Url()));
  client.Command({"SET", "before", "1"});
  ASSERT_EQ(client.Stats().idle, 1);

  redis.Stop();
  auto start = steady_clock::now();
  core::Error e = CatchError([&] { client.Command({"GET", "before"}); });
  EXPECT_EQ(e.code(), core::ErrorCode::kUnavailable);
  EXPECT_THAT(e.what(), HasSubstr(redis.Url()));
  e = CatchError([&] { client.Command({"GET", "before"}); });  // a fresh connection is refused
  EXPECT_EQ(e.code(), core::ErrorCode::kUnavailable);
  EXPECT_FALSE(client.Ping());
  EXPECT_LT(steady_clock::now() - start, milliseconds(1000));
  EXPECT_EQ(client.Stats().in_use, 0);

  redis.Start();
  // The server lost its data (no persistence) but the client reconnects on its own.
  EXPECT_TRUE(client.Command({"GET", "before"}).is_nil());
  EXPECT_TRUE(client.Ping());
}

TEST(RedisClientOutageTest, IdleConnectionsClosedByARestartAreReplacedWithoutAFailedCommand) {
  testkit::RedisInstance redis;
  RedisClient client(Options(redis.Url(), 4));
  // Fill the pool with several idle connections.
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) client.Command({"INCR", "n"});
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_GE(client.Stats().idle, 1);

  redis.Stop();
  redis.Start();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(client.Command({"INCR", "m"}).integer(), i + 1);
}

// A server that accepts connections (the kernel completes the handshake from the backlog) but
// never answers: every command must time out. Thread-compatible.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot listen");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(RedisClientOutageTest, UnansweredCommandTimesOutAsUnavailable) {
  SilentServer server;
  RedisOptions options = Options("redis://127.0.0.1:" + std::to_string(server.port()));
  options.command_timeout = milliseconds(200);
  RedisClient client(options);
  auto start = steady_clock::now();
  core::Error e = CatchError([&] { client.Command({"PING"}); });
  auto elapsed = steady_clock::now() - start;
  EXPECT_EQ(e.code(), core::ErrorCode::kUnavailable);
  EXPECT_THAT(e.what(), HasSubstr("no reply within 200 ms"));
  EXPECT_GE(elapsed, milliseconds(150));
  EXPECT_LT(elapsed, milliseconds(1500));
  // The timed-out connection was discarded rather than returned to the pool.
  EXPECT_EQ(client.Stats().idle, 0);
  EXPECT_EQ(client.Stats().in_use, 0);
}

TEST(RedisClientAuthTest, PasswordIsSentAndWrongOnesNeverAppearInMessages) {
  testkit::RedisInstance redis("correct-horse-battery");
  RedisClient good(Options(redis.Url()));
  EXPECT_EQ(good.Command({"SET", "a", "1"}).str(), "OK");
  EXPECT_THAT(good.redacted_url(), Not(HasSubstr("correct-horse-battery")));

  const std::string bad_url = "redis://:wrong-staple-1234@127.0.0.1:" + std::to_string(redis.port()) + "/0";
  RedisClient bad(Options(bad_url));
  core::Error e = CatchError([&] { bad.Command({"GET", "a"}); });
  EXPECT_EQ(e.code(), core::ErrorCode::kUnavailable);
  EXPECT_THAT(e.what(), HasSubstr("rejected the credentials"));
  EXPECT_THAT(e.what(), Not(HasSubstr("wrong-staple-1234")));
  EXPECT_FALSE(bad.Ping());

  const std::string user_url = "redis://default:wrong-staple-1234@127.0.0.1:" + std::to_string(redis.port()) + "/0";
  e = CatchError([&] { RedisClient(Options(user_url)).Command({"GET", "a"}); });
  EXPECT_EQ(e.code(), core::ErrorCode::kUnavailable);
  EXPECT_THAT(e.what(), Not(HasSubstr("wrong-staple-1234")));

  RedisClient none(Options("redis://127.0.0.1:" + std::to_string(redis.port()) + "/0"));
  e = CatchError([&] { none.Command({"GET", "a"}); });
  EXPECT_EQ(e.code(), core::ErrorCode::kUnavailable);  // NOAUTH
}

}  // namespace
}  // namespace playground::redis
