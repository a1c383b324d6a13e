#include "http/server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "core/log.h"
#include "http/problem.h"

namespace playground::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `in`; `plus_is_space` for query strings. False on a malformed escape or a NUL.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      char d = static_cast<char>(hi * 16 + lo);
      if (d == '\0') return false;
      out.push_back(d);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

// Splits a request target into a decoded path and query; false when it is malformed.
bool ParseTarget(std::string_view target, Request& req) {
  if (target.empty() || target.front() != '/') return false;
  size_t q = target.find('?');
  if (!PercentDecode(target.substr(0, q), false, req.path)) return false;
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  size_t frag = rest.find('#');
  if (frag != std::string_view::npos) rest = rest.substr(0, frag);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key, value;
    if (!PercentDecode(pair.substr(0, eq), true, key)) return false;
    if (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), true, value)) return false;
    req.query.emplace(std::move(key), std::move(value));
  }
  return true;
}

constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
// What one socket read of a streamed request body may take (beast reads at most 64 KiB at once).
constexpr size_t kBodyReadBytes = 64 * 1024;

// A malformed request (as opposed to a connection that closed or timed out).
bool IsParseError(const boost::beast::error_code& ec) {
  namespace bh = boost::beast::http;
  return ec.category() == bh::make_error_code(bh::error::bad_method).category() && ec != bh::error::end_of_stream &&
         ec != bh::error::partial_message;
}

}  // namespace

class Session;

class Server::Impl {
 public:
  Impl(ServerOptions options, const Router& router, std::vector<Middleware> middleware)
      : opt(std::move(options)),
        router(router),
        iocs(MakeContexts(opt.io_threads)),
        acceptor(*iocs[0]),
        signals(*iocs[0]),
        handlers(static_cast<size_t>(opt.handler_threads)) {
    chain = Compose(middleware, [this](Request& req) { return Dispatch(req); });
  }

  Response Dispatch(Request& req) {
    if (req.route != nullptr) return req.route->handler(req);
    RouteMatch m = router.Match(req.method, req.path);
    if (m.path_exists) {
      Response res = Problem(405, "method-not-allowed", StatusTitle(405),
                             req.method + " is not supported on " + req.path + "; use " + m.allowed_methods);
      res.headers.Set("Allow", m.allowed_methods);
      return res;
    }
    return Problem(404, "not-found", StatusTitle(404), "no endpoint at " + req.path + "; see /docs for the API");
  }

  void Start();
  void DoAccept();
  // Every SIGINT/SIGTERM requests a shutdown; the second one while draining stops at once.
  void ArmSignals() {
    signals.async_wait([this](beast::error_code ec, int) {
      if (ec) return;
      RequestShutdown();
      ArmSignals();
    });
  }
  bool Run();
  void RequestShutdown();
  void Register(const std::shared_ptr<Session>& s);
  void Unregister(Session* s);

  const ServerOptions opt;
  const Router& router;
  Next chain;
  // Declared before the contexts and pools so that they outlive them: destroying a context
  // destroys the sessions its pending handlers hold, and those unregister here.
  std::atomic<int> in_flight{0};
  std::atomic<bool> draining{false};
  std::mutex mu;  // guards shutdown_requests and sessions
  std::condition_variable cv;
  int shutdown_requests = 0;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  static std::vector<std::unique_ptr<net::io_context>> MakeContexts(int n) {
    std::vector<std::unique_ptr<net::io_context>> v;
    for (int i = 0; i < std::max(n, 1); ++i) v.push_back(std::make_unique<net::io_context>(1));
    return v;
  }

  // One io_context per I/O thread, each run by exactly that thread: a connection lives on one
  // of them for its whole life, so its handlers never run concurrently and need no strand, and
  // the scheduler of each context is never contended by the other I/O threads.
  std::vector<std::unique_ptr<net::io_context>> iocs;
  size_t next_ioc = 0;     // round-robin for new connections; used on iocs[0] only
  tcp::acceptor acceptor;  // used on iocs[0] only
  net::signal_set signals;
  net::thread_pool handlers;
  std::vector<std::thread> io_threads;
  uint16_t bound_port = 0;
};

// One connection. All members are used only on the connection's I/O thread, except where a comment
// says otherwise; handlers run on the handler pool with the session kept alive by a shared_ptr.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server::Impl& server) : stream_(std::move(socket)), srv_(server) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
  }
  // A session may outlive the server (a stream writer kept by application code); once closed
  // it no longer touches the server.
  ~Session() {
    if (registered_) {
      EndRequest();
      srv_.Unregister(this);
    }
  }

  void Start() {
    registered_ = true;
    srv_.Register(shared_from_this());
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  // Tells the session, on its I/O thread, that the server is draining.
  void DrainAsync() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Drain(); });
  }

  void Drain() {
    if (state_ == State::kIdle) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.cancel();
    } else if (state_ == State::kStreaming) {
      StreamClose();
    }
  }

  // --- streamed request bodies (called from the handler thread) ---
  size_t ReadBody(char* buf, size_t n) {
    while (true) {
      std::promise<std::pair<beast::error_code, size_t>> done;
      auto fut = done.get_future();
      net::dispatch(stream_.get_executor(), [this, &done, buf, n] { ReadSomeBody(buf, n, done); });
      auto [ec, got] = fut.get();
      body_bytes_ += static_cast<int64_t>(got);
      if (ec == bhttp::error::body_limit) {
        broken_ = true;
        core::Fail(core::ErrorCode::kPayloadTooLarge, "the request body is larger than this endpoint's limit of " +
                                                          std::to_string(body_limit_) + " bytes");
      }
      if (ec) {
        broken_ = true;
        core::Fail(core::ErrorCode::kInvalidArgument,
                   "the request body ended early: the client disconnected or stopped sending");
      }
      if (got > 0 || body_done_) return got;
    }
  }

  // --- streamed responses (called from any thread through SessionStreamWriter) ---
  void StreamWrite(std::string data) {
    unsent_bytes_ += data.size();
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), data = std::move(data)]() mutable {
      if (!self->stream_open_) return;
      if (self->queued_bytes_ + data.size() > self->srv_.opt.max_stream_queue_bytes) {
        self->FinishStream();  // the client cannot keep up: cut it rather than buffer without bound
        return;
      }
      self->queued_bytes_ += data.size();
      self->out_.push_back(std::move(data));
      if (!self->writing_) self->WriteNextChunk();
    });
  }
  void StreamCloseAsync() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->StreamClose(); });
  }
  void StreamOnClose(std::function<void()> cb) {
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), cb = std::move(cb)]() mutable {
      if (self->stream_open_) {
        self->on_close_.push_back(std::move(cb));
      } else {
        cb();
      }
    });
  }
  std::atomic<bool> stream_open_{false};  // readable from any thread
  // Bytes handed to StreamWrite and not yet written to the socket; WriteWait waits on flow_cv_
  // for it to fall (flow_mu_ guards nothing but the wait, so a notification is never lost).
  std::atomic<size_t> unsent_bytes_{0};
  std::mutex flow_mu_;
  std::condition_variable flow_cv_;
  void NotifyFlow() {
    { std::lock_guard lock(flow_mu_); }
    flow_cv_.notify_all();
  }
  int64_t body_bytes() const { return body_bytes_; }
  size_t max_stream_queue_bytes() const { return srv_.opt.max_stream_queue_bytes; }
  std::chrono::steady_clock::duration write_timeout() const { return srv_.opt.write_timeout; }

 private:
  enum class State { kIdle, kBusy, kStreaming };

  void ReadHeader() {
    state_ = State::kIdle;
    if (srv_.draining) return Close();
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<uint32_t>(srv_.opt.max_header_bytes));
    // The body's limit depends on the route, known only once the header is in; checked then.
    header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(first_ ? srv_.opt.read_timeout : srv_.opt.idle_timeout);
    bhttp::async_read_header(stream_, buffer_, *header_parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    first_ = false;
    if (ec == bhttp::error::header_limit) {
      BeginRequest();
      keep_alive_ = false;
      return SendError(431, "header-too-large",
                       "the request header is larger than " + std::to_string(srv_.opt.max_header_bytes) + " bytes");
    }
    if (IsParseError(ec)) {
      BeginRequest();
      keep_alive_ = false;
      return SendError(400, "bad-request", "the request is not valid HTTP/1.1: " + ec.message());
    }
    if (ec) return Close();  // closed, reset, timed out or cancelled while idle

    BeginRequest();
    auto& h = header_parser_->get();
    req_ = Request{};
    req_.method = std::string(h.method_string());
    req_.target = std::string(h.target());
    req_.remote_address = remote_;
    req_.start = std::chrono::steady_clock::now();
    for (const auto& f : h) req_.headers.Add(std::string(f.name_string()), std::string(f.value()));
    version_ = h.version();
    keep_alive_ = h.keep_alive();
    head_ = h.method() == bhttp::verb::head;
    if (!ParseTarget(req_.target, req_)) {
      keep_alive_ = false;
      return SendError(400, "bad-request", "the request target is not a valid, percent-encoded path");
    }
    RouteMatch m = srv_.router.Match(req_.method, req_.path);
    req_.route = m.route;
    req_.path_params = std::move(m.params);

    const Route* r = req_.route;
    body_limit_ = (r != nullptr && r->max_body_bytes > 0) ? r->max_body_bytes : srv_.opt.max_body_bytes;
    auto declared = header_parser_->content_length();
    if (declared && *declared > static_cast<uint64_t>(body_limit_)) {
      keep_alive_ = false;  // the unread body makes the connection unusable
      return SendError(413, "payload-too-large",
                       "the request body (" + std::to_string(*declared) +
                           " bytes) is larger than this endpoint's limit of " + std::to_string(body_limit_) + " bytes");
    }
    bool expect_continue = false;
    if (auto e = req_.headers.Get("Expect"))
      expect_continue = beast::iequals(beast::string_view(e->data(), e->size()), "100-continue");
    auto after_continue = [this](auto next) {
      net::async_write(stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
                       [self = shared_from_this(), next](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         next();
                       });
    };
    if (r != nullptr && r->stream_body) {
      stream_parser_.emplace(std::move(*header_parser_));
      stream_parser_->body_limit(static_cast<uint64_t>(body_limit_));
      // Beast reads from the socket only as much as the buffer has room for (the header left it
      // a few KiB), and every read is a round trip between the handler and I/O threads: room for
      // 64 KiB per read makes a large upload about ten times faster.
      buffer_.reserve(kBodyReadBytes);
      body_done_ = stream_parser_->is_done();
      reader_.session = this;
      req_.body_reader = &reader_;
      if (expect_continue && !body_done_) return after_continue([self = shared_from_this()] { self->Run(); });
      return Run();
    }
    string_parser_.emplace(std::move(*header_parser_));
    string_parser_->body_limit(static_cast<uint64_t>(body_limit_));
    auto read = [self = shared_from_this()] {
      self->stream_.expires_after(self->srv_.opt.read_timeout);
      bhttp::async_read(self->stream_, self->buffer_, *self->string_parser_,
                        [self](beast::error_code ec, size_t) { self->OnBody(ec); });
    };
    if (string_parser_->is_done()) return Run();
    if (expect_continue) return after_continue(read);
    read();
  }

  void OnBody(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      keep_alive_ = false;
      return SendError(
          413, "payload-too-large",
          "the request body is larger than this endpoint's limit of " + std::to_string(body_limit_) + " bytes");
    }
    if (ec) return Close();  // client went away or stopped sending mid-body
    req_.body = std::move(string_parser_->get().body());
    Run();
  }

  // Runs the middleware chain and handler, on the handler pool unless the route is inline.
  void Run() {
    const Route* r = req_.route;
    bool blocking = r != nullptr && (r->blocking || r->stream_body);
    auto work = [self = shared_from_this()] {
      Response res;
      try {
        res = self->srv_.chain(self->req_);
      } catch (const std::exception& e) {  // the chain maps errors itself; this is the last guard
        core::LogError("unhandled error", {{"error", e.what()}});
        res = Problem(500, "internal", StatusTitle(500), "an unexpected error occurred");
      }
      net::dispatch(self->stream_.get_executor(),
                    [self, res = std::move(res)]() mutable { self->WriteResponse(std::move(res)); });
    };
    if (blocking) {
      net::post(srv_.handlers, std::move(work));
    } else {
      work();
    }
  }

  void SendError(int status, std::string_view type, const std::string& detail) {
    Response res = Problem(status, type, StatusTitle(status), detail);
    res.headers.Set("X-Request-ID", req_.request_id.empty() ? "-" : req_.request_id);
    WriteResponse(std::move(res));
  }

  void WriteResponse(Response res) {
    if (stream_parser_ && !body_done_) keep_alive_ = false;  // the handler left body bytes unread
    if (broken_) keep_alive_ = false;
    bool keep = keep_alive_ && !srv_.draining;
    if (res.stream) return WriteStreamHeader(std::move(res));
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(res.status), version_);
    for (const auto& [k, v] : res.headers.items()) msg->insert(k, v);
    msg->keep_alive(keep);
    if (head_) {
      msg->content_length(res.body.size());
    } else {
      msg->body() = std::move(res.body);
      msg->prepare_payload();
    }
    stream_.expires_after(srv_.opt.write_timeout);
    bool unread_body = (stream_parser_ && !body_done_) || (string_parser_ && !string_parser_->is_done());
    auto on_written = [self = shared_from_this(), msg, keep, unread_body](beast::error_code ec, size_t) {
      self->EndRequest();
      if (ec) return self->Close();
      if (!keep) return unread_body ? self->LingeringClose() : self->Close();
      self->ReadHeader();
    };
    if (head_) {
      auto sr = std::make_shared<bhttp::response_serializer<bhttp::string_body>>(*msg);
      bhttp::async_write_header(stream_, *sr, [sr, on_written](beast::error_code ec, size_t n) { on_written(ec, n); });
    } else {
      bhttp::async_write(stream_, *msg, std::move(on_written));
    }
  }

  void WriteStreamHeader(Response res) {
    state_ = State::kStreaming;
    auto msg = std::make_shared<bhttp::response<bhttp::empty_body>>(static_cast<bhttp::status>(res.status), version_);
    for (const auto& [k, v] : res.headers.items()) msg->insert(k, v);
    msg->chunked(true);
    msg->keep_alive(false);
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*msg);
    stream_.expires_after(srv_.opt.write_timeout);
    bhttp::async_write_header(
        stream_, *sr,
        [self = shared_from_this(), msg, sr, producer = std::move(res.stream)](beast::error_code ec, size_t) mutable {
          if (ec) return self->Close();
          self->stream_open_ = true;
          self->WatchPeer();
          auto writer = self->MakeWriter();
          net::post(self->srv_.handlers, [writer, producer = std::move(producer)] {
            try {
              producer(writer);
            } catch (const std::exception& e) {
              core::LogError("stream producer failed", {{"error", e.what()}});
              writer->Close();
            }
          });
          if (self->srv_.draining) self->StreamClose();
        });
  }

  // While streaming, a read that completes means the peer closed (or sent garbage): end the stream.
  void WatchPeer() {
    stream_.expires_never();
    stream_.async_read_some(net::buffer(peer_probe_),
                            [self = shared_from_this()](beast::error_code, size_t) { self->FinishStream(); });
  }

  std::shared_ptr<StreamWriter> MakeWriter();

  void WriteNextChunk() {
    if (out_.empty()) {
      writing_ = false;
      if (stream_closing_) {
        writing_ = true;
        net::async_write(stream_.socket(), bhttp::make_chunk_last(),
                         [self = shared_from_this()](beast::error_code, size_t) { self->FinishStream(); });
      }
      return;
    }
    writing_ = true;
    auto chunk = std::make_shared<std::string>(std::move(out_.front()));
    out_.pop_front();
    queued_bytes_ -= chunk->size();
    net::async_write(stream_.socket(), bhttp::make_chunk(net::buffer(*chunk)),
                     [self = shared_from_this(), chunk](beast::error_code ec, size_t) {
                       self->unsent_bytes_ -= chunk->size();
                       self->NotifyFlow();
                       if (ec) return self->FinishStream();
                       self->WriteNextChunk();
                     });
  }

  void StreamClose() {
    if (!stream_open_ || stream_closing_) return;
    stream_closing_ = true;
    if (!writing_) WriteNextChunk();
  }

  void FinishStream() {
    if (!stream_open_) return;
    stream_open_ = false;
    NotifyFlow();
    out_.clear();
    auto callbacks = std::move(on_close_);
    for (auto& cb : callbacks) cb();
    EndRequest();
    Close();
  }

  void BeginRequest() {
    state_ = State::kBusy;
    if (!counted_) {
      counted_ = true;
      ++srv_.in_flight;
    }
  }
  void EndRequest() {
    if (counted_) {
      counted_ = false;
      --srv_.in_flight;
    }
    stream_parser_.reset();
    string_parser_.reset();
    body_done_ = false;
    broken_ = false;
    body_bytes_ = 0;
  }

  // After answering a request whose body was not read (e.g. a 413), stop sending and discard what
  // the client still sends for a moment before closing: closing at once with unread data makes
  // the kernel reset the connection, and the client would lose the answer.
  void LingeringClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    linger_left_ = kLingerBytes;
    stream_.expires_after(std::chrono::seconds(2));
    Linger();
  }
  void Linger() {
    stream_.async_read_some(net::buffer(linger_buf_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec || n >= self->linger_left_) return self->Close();
      self->linger_left_ -= n;
      self->Linger();
    });
  }
  static constexpr size_t kLingerBytes = 8 << 20;

  // Closes the connection and leaves the server's session table: a closed session no longer
  // holds up a drain, even while a stream writer somewhere still refers to it.
  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
    if (registered_) {
      EndRequest();
      srv_.Unregister(this);
      registered_ = false;
    }
  }

  void ReadSomeBody(char* buf, size_t n, std::promise<std::pair<beast::error_code, size_t>>& done) {
    if (body_done_ || stream_parser_->is_done()) {
      body_done_ = true;
      done.set_value({{}, 0});
      return;
    }
    auto& body = stream_parser_->get().body();
    body.data = buf;
    body.size = n;
    stream_.expires_after(srv_.opt.read_timeout);
    bhttp::async_read_some(stream_, buffer_, *stream_parser_,
                           [self = shared_from_this(), n, &done](beast::error_code ec, size_t) {
                             size_t got = n - self->stream_parser_->get().body().size;
                             if (ec == bhttp::error::need_buffer) ec = {};
                             if (!ec && self->stream_parser_->is_done()) self->body_done_ = true;
                             done.set_value({ec, got});
                           });
  }

  class Reader final : public BodyReader {
   public:
    size_t Read(char* buf, size_t n) override { return session->ReadBody(buf, n); }
    int64_t BytesRead() const override { return session->body_bytes(); }
    Session* session = nullptr;
  };

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Server::Impl& srv_;
  std::string remote_;
  State state_ = State::kIdle;
  bool first_ = true;
  bool counted_ = false;
  bool registered_ = false;  // in the server's session table
  std::optional<bhttp::request_parser<bhttp::empty_body>> header_parser_;
  std::optional<bhttp::request_parser<bhttp::string_body>> string_parser_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> stream_parser_;
  Request req_;
  Reader reader_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  int64_t body_limit_ = 0;
  bool body_done_ = false;  // streamed body fully read
  bool broken_ = false;     // the body could not be read: the connection must close
  int64_t body_bytes_ = 0;  // written by the handler thread only, between hops to the I/O thread
  // Streaming state.
  std::deque<std::string> out_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool stream_closing_ = false;
  std::vector<std::function<void()>> on_close_;
  char peer_probe_[1];
  char linger_buf_[16384];
  size_t linger_left_ = 0;
};

// The StreamWriter handed to producers: forwards to the session's I/O thread. It holds the
// session weakly: the session lives while its connection does (its pending reads and writes hold
// it), and must never outlive the server's io_context, however long a producer keeps the writer.
class SessionStreamWriter final : public StreamWriter {
 public:
  explicit SessionStreamWriter(const std::shared_ptr<Session>& s) : session_(s) {}
  bool Write(std::string data) override {
    auto s = session_.lock();
    if (!s || !s->stream_open_) return false;
    s->StreamWrite(std::move(data));
    return true;
  }
  bool WriteWait(std::string data) override {
    auto s = session_.lock();
    if (!s) return false;
    size_t room = s->max_stream_queue_bytes() / 2;
    {
      std::unique_lock lock(s->flow_mu_);
      bool ready = s->flow_cv_.wait_for(lock, s->write_timeout(), [&] {
        return !s->stream_open_ || s->unsent_bytes_ == 0 || s->unsent_bytes_ + data.size() <= room;
      });
      if (!ready) return false;  // the client has not read anything for a whole write timeout
    }
    if (!s->stream_open_) return false;
    s->StreamWrite(std::move(data));
    return true;
  }
  void Close() override {
    if (auto s = session_.lock()) s->StreamCloseAsync();
  }
  bool IsOpen() const override {
    auto s = session_.lock();
    return s && s->stream_open_;
  }
  void OnClose(std::function<void()> cb) override {
    if (auto s = session_.lock()) {
      s->StreamOnClose(std::move(cb));
    } else {
      cb();
    }
  }

 private:
  std::weak_ptr<Session> session_;
};

std::shared_ptr<StreamWriter> Session::MakeWriter() {
  return std::make_shared<SessionStreamWriter>(shared_from_this());
}

void Server::Impl::Register(const std::shared_ptr<Session>& s) {
  std::lock_guard lock(mu);
  sessions.emplace(s.get(), s);
}

void Server::Impl::Unregister(Session* s) {
  std::lock_guard lock(mu);
  sessions.erase(s);
  cv.notify_all();
}

void Server::Impl::Start() {
  beast::error_code ec;
  auto address = net::ip::make_address(opt.host, ec);
  if (ec) core::Fail(core::ErrorCode::kValidation, "invalid setting HOST: '" + opt.host + "' is not an IP address");
  tcp::endpoint ep(address, opt.port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    core::Fail(core::ErrorCode::kUnavailable,
               "cannot listen on " + opt.host + ":" + std::to_string(opt.port) + ": " + ec.message());
  }
  bound_port = acceptor.local_endpoint().port();
  if (opt.handle_signals) {
    signals.add(SIGINT);
    signals.add(SIGTERM);
    ArmSignals();
  }
  net::dispatch(acceptor.get_executor(), [this] { DoAccept(); });
  for (auto& ioc : iocs) {
    io_threads.emplace_back([ctx = ioc.get()] {
      auto guard = net::make_work_guard(*ctx);
      ctx->run();
    });
  }
}

void Server::Impl::DoAccept() {
  net::io_context& target = *iocs[next_ioc++ % iocs.size()];
  acceptor.async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (ec) {
      if (ec == net::error::operation_aborted) return;
      core::LogWarn("accept failed", {{"error", ec.message()}});
      auto timer = std::make_shared<net::steady_timer>(acceptor.get_executor(), std::chrono::milliseconds(50));
      timer->async_wait([this, timer](beast::error_code) { DoAccept(); });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Session>(std::move(socket), *this)->Start();
    DoAccept();
  });
}

void Server::Impl::RequestShutdown() {
  std::lock_guard lock(mu);
  ++shutdown_requests;
  cv.notify_all();
}

bool Server::Impl::Run() {
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [this] { return shutdown_requests > 0; });
  }
  core::LogInfo("shutting down", {{"in_flight", in_flight.load()}, {"grace_seconds", opt.shutdown_grace.count()}});
  draining = true;
  std::promise<void> closed;
  net::dispatch(acceptor.get_executor(), [this, &closed] {
    beast::error_code ec;
    acceptor.close(ec);
    closed.set_value();
  });
  closed.get_future().wait();
  // Tell every session (on its I/O thread) that we are draining.
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mu);
    for (auto& [ptr, weak] : sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->DrainAsync();
  live.clear();

  bool drained;
  {
    std::unique_lock lock(mu);
    drained = cv.wait_for(lock, opt.shutdown_grace, [this] { return sessions.empty() || shutdown_requests > 1; }) &&
              sessions.empty();
  }
  if (!drained)
    core::LogWarn("shutdown grace period over; stopping with requests in flight", {{"in_flight", in_flight.load()}});
  for (auto& ioc : iocs) ioc->stop();
  for (auto& t : io_threads) t.join();
  io_threads.clear();
  if (drained) {
    handlers.join();
  }
  core::LogInfo("stopped", {{"drained", drained}});
  return drained;
}

Server::Server(ServerOptions options, const Router& router, std::vector<Middleware> middleware)
    : impl_(std::make_unique<Impl>(std::move(options), router, std::move(middleware))) {}

Server::~Server() {
  if (impl_ && !impl_->io_threads.empty()) {
    impl_->RequestShutdown();
    impl_->Run();
  }
}

void Server::Start() { impl_->Start(); }
uint16_t Server::port() const { return impl_->bound_port; }
bool Server::Run() { return impl_->Run(); }
void Server::RequestShutdown() { impl_->RequestShutdown(); }
int Server::InFlight() const { return impl_->in_flight.load(); }

}  // namespace playground::http
