// The server over real loopback sockets, with routes made for the test: streamed bodies in both
// directions, limits, keep-alive and the graceful drain.
#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "core/error.h"
#include "testkit/http_client.h"

namespace playground::http {
namespace {

using testkit::HttpClient;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_
        .Get("/hello",
             [](Request& req) {
               auto res = Response::Json(200, {{"hello", req.Query("name").value_or("world")}});
               return res;
             })
        .Inline();
    router_.Post("/echo", [](Request& req) { return Response::Text(200, req.body); });
    router_.Get("/items/{id}", [](Request& req) { return Response::Json(200, {{"id", req.Param("id")}}); });
    router_
        .Post("/upload",
              [this](Request& req) {
                // Reads in 64 KiB pieces and keeps only a running count: memory stays flat whatever the size.
                std::vector<char> buf(64 * 1024);
                int64_t total = 0;
                uint64_t sum = 0;
                while (size_t n = req.body_reader->Read(buf.data(), buf.size())) {
                  total += static_cast<int64_t>(n);
                  for (size_t i = 0; i < n; ++i) sum += static_cast<unsigned char>(buf[i]);
                }
                upload_done_ = true;
                return Response::Json(200, {{"bytes", total}, {"sum", sum}});
              })
        .StreamBody()
        .MaxBody(64ll << 20);
    router_
        .Post("/upload-small",
              [](Request& req) {
                char buf[4096];
                while (req.body_reader->Read(buf, sizeof buf) > 0) {
                }
                return Response::Empty(204);
              })
        .StreamBody()
        .MaxBody(1 << 20);
    router_.Get("/slow", [this](Request&) {
      slow_started_.set_value();
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
      return Response::Text(200, "finally");
    });
    router_.Get("/events", [this](Request&) {
      Response res;
      res.headers.Set("Content-Type", "text/event-stream");
      res.stream = [this](std::shared_ptr<StreamWriter> w) {
        w->OnClose([this] { stream_closed_ = true; });
        for (int i = 0; i < 3; ++i) w->Write("data: event " + std::to_string(i) + "\n\n");
        writer_ = w;  // kept open after the producer returns, like a subscription
      };
      return res;
    });
    router_.Get("/fail", [](Request&) -> Response { core::Fail(core::ErrorCode::kConflict, "busy"); });
  }

  void Start(ServerOptions opts = {}) {
    opts.port = 0;
    opts.handle_signals = false;
    opts.handler_threads = 4;
    server_ = std::make_unique<Server>(opts, router_, std::vector<Middleware>{ProblemMiddleware(false)});
    server_->Start();
    runner_ = std::async(std::launch::async, [this] { return server_->Run(); });
  }

  void TearDown() override {
    if (server_) {
      server_->RequestShutdown();
      runner_.wait();
    }
  }

  HttpClient Client() { return HttpClient("127.0.0.1", server_->port(), std::chrono::seconds(10)); }

  Router router_;
  std::unique_ptr<Server> server_;
  std::future<bool> runner_;
  std::promise<void> slow_started_;
  std::atomic<bool> upload_done_{false};
  std::atomic<bool> stream_closed_{false};
  std::shared_ptr<StreamWriter> writer_;
};

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Start();
  auto c = Client();
  for (int i = 0; i < 20; ++i) {
    auto r = c.Get("/hello?name=a%20b");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.Json()["hello"], "a b");
  }
  EXPECT_EQ(c.Post("/echo", "ping", "text/plain").body, "ping");
  EXPECT_EQ(c.Get("/items/x1").Json()["id"], "x1");
}

TEST_F(ServerTest, UnknownPathsAndMethodsAreProblems) {
  Start();
  auto c = Client();
  auto nf = c.Get("/nope");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.Header("Content-Type"), "application/problem+json");
  auto na = c.Request("DELETE", "/hello");
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.Header("Allow"), "GET");
  auto conflict = c.Get("/fail");
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.Json()["detail"], "busy");
}

TEST_F(ServerTest, HeadAnswersHeadersOnly) {
  Start();
  auto c = Client();
  auto r = c.Request("HEAD", "/hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(std::string(R"({"hello":"world"})").size()));
  EXPECT_EQ(c.Get("/hello").status, 200);  // the connection is still in sync
}

TEST_F(ServerTest, OversizedHeaderIs431AndOversizedBodyIs413) {
  ServerOptions o;
  o.max_header_bytes = 2048;
  o.max_body_bytes = 1024;
  Start(o);
  auto c = Client();
  auto big = c.Get("/hello", {{"X-Big", std::string(4096, 'a')}});
  EXPECT_EQ(big.status, 431);
  auto c2 = Client();
  auto r = c2.Post("/echo", std::string(4096, 'b'), "text/plain");
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.Json()["detail"].get<std::string>().find("1024"), std::string::npos);
  // Chunked bodies have no declared length: the limit holds while reading.
  auto c3 = Client();
  c3.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + std::string(2048, 'c') +
          "\r\n0\r\n\r\n");
  EXPECT_EQ(c3.ReadResponse().status, 413);
}

TEST_F(ServerTest, MalformedRequestsAre400) {
  Start();
  auto c = Client();
  EXPECT_EQ(c.Raw("GARBAGE\r\n\r\n").status, 400);
  auto c2 = Client();
  EXPECT_EQ(c2.Raw("GET /hello%zz HTTP/1.1\r\nHost: x\r\n\r\n").status, 400);
}

TEST_F(ServerTest, StreamedUploadArrivesWholeInPieces) {
  Start();
  auto c = Client();
  std::string body(8 * 1024 * 1024 + 17, '\0');
  uint64_t sum = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>(i * 7 % 251);
    sum += static_cast<unsigned char>(body[i]);
  }
  auto r = c.Post("/upload", body, "application/octet-stream");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["bytes"], body.size());
  EXPECT_EQ(r.Json()["sum"], sum);
  // Expect: 100-continue is honoured.
  c.Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_NE(c.ReadUntil("100 Continue").find("100 Continue"), std::string::npos);
  c.Send("hello");
  auto r2 = c.ReadResponse();
  EXPECT_EQ(r2.Json()["bytes"], 5);
}

TEST_F(ServerTest, StreamedUploadOverTheRouteLimitIs413) {
  Start();
  auto c = Client();
  c.Send("POST /upload-small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  std::string chunk(256 * 1024, 'x');
  char hex[16];
  std::snprintf(hex, sizeof hex, "%zx\r\n", chunk.size());
  try {
    for (int i = 0; i < 12; ++i) c.Send(std::string(hex) + chunk + "\r\n");  // 3 MiB against a 1 MiB limit
  } catch (const std::exception&) {
    // the server may stop reading before we finish sending
  }
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("1048576"), std::string::npos);
}

TEST_F(ServerTest, ClientVanishingMidUploadDoesNotReachTheHandlerAsSuccess) {
  Start();
  {
    auto c = Client();
    c.Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + std::string(1000, 'x'));
  }  // disconnect
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(upload_done_);
  EXPECT_EQ(Client().Get("/hello").status, 200);  // the server is fine
}

TEST_F(ServerTest, ServerSentEventsStreamAndDetectTheClientLeaving) {
  Start();
  {
    auto c = Client();
    c.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string got = c.ReadUntil("event 2");
    EXPECT_NE(got.find("text/event-stream"), std::string::npos);
    EXPECT_NE(got.find("chunked"), std::string::npos);
    EXPECT_NE(got.find("data: event 0"), std::string::npos);
    EXPECT_NE(got.find("data: event 2"), std::string::npos);
    // The writer outlives the handler: later events still arrive.
    for (int i = 0; i < 100 && !writer_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(writer_);
    EXPECT_TRUE(writer_->Write("data: later\n\n"));
    EXPECT_NE(c.ReadUntil("later").find("data: later"), std::string::npos);
  }
  for (int i = 0; i < 200 && !stream_closed_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(stream_closed_);
  EXPECT_FALSE(writer_->IsOpen());
  EXPECT_FALSE(writer_->Write("data: nobody\n\n"));
}

TEST_F(ServerTest, ShutdownLetsInFlightRequestsFinishAndClosesIdleConnections) {
  Start();
  auto idle = Client();
  ASSERT_EQ(idle.Get("/hello").status, 200);
  auto busy = std::async(std::launch::async, [this] {
    auto c = Client();
    return c.Get("/slow");
  });
  slow_started_.get_future().wait();
  server_->RequestShutdown();
  auto r = busy.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "finally");
  EXPECT_EQ(r.Header("Connection"), "close");
  EXPECT_TRUE(idle.ServerClosed());
  EXPECT_TRUE(runner_.get());  // drained within the grace period
  server_.reset();
}

TEST_F(ServerTest, ShutdownClosesOpenEventStreams) {
  Start();
  auto c = Client();
  c.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  c.ReadUntil("event 2");
  server_->RequestShutdown();
  EXPECT_TRUE(runner_.get());
  server_.reset();
  EXPECT_TRUE(stream_closed_);
}

TEST_F(ServerTest, GracePeriodBoundsTheDrain) {
  ServerOptions o;
  o.shutdown_grace = std::chrono::seconds(0);
  Start(o);
  auto busy = std::async(std::launch::async, [this] {
    try {
      auto c = Client();
      return c.Get("/slow").status;
    } catch (const std::exception&) {
      return -1;
    }
  });
  slow_started_.get_future().wait();
  auto t0 = std::chrono::steady_clock::now();
  server_->RequestShutdown();
  EXPECT_FALSE(runner_.get());  // gave up waiting
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  server_.reset();
  busy.wait();
}

TEST_F(ServerTest, IdleConnectionsTimeOut) {
  ServerOptions o;
  o.idle_timeout = std::chrono::seconds(1);
  o.read_timeout = std::chrono::seconds(1);
  Start(o);
  auto c = Client();
  ASSERT_EQ(c.Get("/hello").status, 200);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ServerClosed());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  // A request whose header never completes is cut off by the read timeout.
  auto slow = Client();
  slow.Send("GET /hello HTTP/1.1\r\n");
  EXPECT_TRUE(slow.ServerClosed());
}

}  // namespace
}  // namespace playground::http
