#include "redis/redis_client.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "core/error.h"

namespace playground::redis {

using core::ErrorCode;

// ---- Reply ----------------------------------------------------------------------------------

Reply Reply::Integer(int64_t value) {
  Reply r;
  r.type_ = Type::kInteger;
  r.integer_ = value;
  return r;
}

Reply Reply::String(std::string value) {
  Reply r;
  r.type_ = Type::kString;
  r.str_ = std::move(value);
  return r;
}

Reply Reply::Status(std::string value) {
  Reply r;
  r.type_ = Type::kStatus;
  r.str_ = std::move(value);
  return r;
}

Reply Reply::Error(std::string message) {
  Reply r;
  r.type_ = Type::kError;
  r.str_ = std::move(message);
  return r;
}

Reply Reply::Array(std::vector<Reply> elements) {
  Reply r;
  r.type_ = Type::kArray;
  r.elements_ = std::move(elements);
  return r;
}

std::string_view ReplyTypeName(Reply::Type type) {
  switch (type) {
    case Reply::Type::kNil: return "nil";
    case Reply::Type::kInteger: return "integer";
    case Reply::Type::kString: return "string";
    case Reply::Type::kStatus: return "status";
    case Reply::Type::kError: return "error";
    case Reply::Type::kArray: return "array";
  }
  return "unknown";
}

namespace {

[[noreturn]] void WrongType(std::string_view wanted, Reply::Type got) {
  core::Fail(ErrorCode::kInternal,
             "redis: expected " + std::string(wanted) + " reply, got " + std::string(ReplyTypeName(got)));
}

}  // namespace

int64_t Reply::integer() const {
  if (type_ != Type::kInteger) WrongType("an integer", type_);
  return integer_;
}

const std::string& Reply::str() const {
  if (type_ != Type::kString && type_ != Type::kStatus && type_ != Type::kError) WrongType("a string", type_);
  return str_;
}

const std::vector<Reply>& Reply::elements() const {
  if (type_ != Type::kArray) WrongType("an array", type_);
  return elements_;
}

std::string Reply::DebugString() const {
  constexpr size_t kMaxString = 64;
  switch (type_) {
    case Type::kNil: return "nil";
    case Type::kInteger: return std::to_string(integer_);
    case Type::kString:
    case Type::kStatus:
    case Type::kError: {
      std::string text = str_.size() > kMaxString ? str_.substr(0, kMaxString) + "..." : str_;
      if (type_ == Type::kString) return "\"" + text + "\"";
      return (type_ == Type::kStatus ? "+" : "-") + text;
    }
    case Type::kArray: {
      std::string out = "[";
      for (size_t i = 0; i < elements_.size(); ++i) {
        if (i > 0) out += ", ";
        out += elements_[i].DebugString();
      }
      return out + "]";
    }
  }
  return "?";
}

// ---- ServerError ----------------------------------------------------------------------------

ServerError::ServerError(ErrorCode code, std::string reply, std::string_view command)
    : core::Error(code, "redis: " + reply + " (command " + std::string(command) + ")"), reply_(std::move(reply)) {}

std::string_view ServerError::prefix() const { return std::string_view(reply_).substr(0, reply_.find(' ')); }

ErrorCode ClassifyErrorReply(std::string_view reply) {
  // The first word of an error reply is its code. These say the server cannot serve anyone right
  // now (starting, running a long script, a replica without its primary, out of memory) or
  // that our credentials are wrong: none is the caller's fault, and all may pass.
  static constexpr std::array<std::string_view, 9> kUnavailable = {
      "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "NOAUTH", "WRONGPASS", "OOM"};
  std::string_view code = reply.substr(0, reply.find(' '));
  for (std::string_view u : kUnavailable) {
    if (code == u) return ErrorCode::kUnavailable;
  }
  return ErrorCode::kInternal;
}

namespace {

// ---- hiredis handles ------------------------------------------------------------------------

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ContextHandle = std::unique_ptr<redisContext, ContextFree>;
using ReplyHandle = std::unique_ptr<redisReply, ReplyFree>;

timeval ToTimeval(std::chrono::milliseconds ms) {
  // A zero timeval would mean "wait forever" to hiredis, the opposite of what a tiny value asks.
  int64_t total = std::max<int64_t>(1, ms.count());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(total / 1000);
  tv.tv_usec = static_cast<suseconds_t>((total % 1000) * 1000);
  return tv;
}

// hiredis 0.14 writes with write(2), so a server that closed the connection raises SIGPIPE,
// whose default action kills the process. Ignoring SIGPIPE process-wide would be a hidden side
// effect on the host program; instead the signal is blocked on this thread for the duration of
// a command and a SIGPIPE raised meanwhile (thread-directed, so ours) is consumed before the
// mask is restored. The write itself then fails with EPIPE, which hiredis reports as an I/O
// error. Thread-compatible: lives on one thread's stack.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    pending_before_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
  }
  ~SigpipeGuard() {
    if (!blocked_) return;
    if (!pending_before_) {
      sigset_t pending;
      sigemptyset(&pending);
      if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{};
        while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool pending_before_ = false;
  bool blocked_ = false;
};

// Removes the password from text that might echo it. Neither hiredis nor Redis puts the
// password in a message, but one scrub here is cheap insurance against leaking it into logs.
// Thread-compatible (immutable after construction).
class Redactor {
 public:
  Redactor(std::string redacted_url, std::string secret)
      : redacted_url_(std::move(redacted_url)), secret_(std::move(secret)) {}
  const std::string& url() const { return redacted_url_; }
  std::string Scrub(std::string text) const {
    if (secret_.empty()) return text;
    for (size_t at = text.find(secret_); at != std::string::npos; at = text.find(secret_, at + 3)) {
      text.replace(at, secret_.size(), "***");
    }
    return text;
  }

 private:
  std::string redacted_url_;
  std::string secret_;
};

Reply Convert(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_NIL: return Reply();
    case REDIS_REPLY_INTEGER: return Reply::Integer(r->integer);
    case REDIS_REPLY_STRING: return Reply::String(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS: return Reply::Status(std::string(r->str, r->len));
    case REDIS_REPLY_ERROR: return Reply::Error(std::string(r->str, r->len));
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) elements.push_back(Convert(r->element[i]));
      return Reply::Array(std::move(elements));
    }
    default: core::Fail(ErrorCode::kInternal, "redis: unknown reply type " + std::to_string(r->type));
  }
}

// The command name alone: arguments may hold secrets (AUTH) or user data.
std::string CommandName(const std::vector<std::string>& argv) { return argv.empty() ? "?" : argv[0]; }

// One server connection. Thread-compatible: the pool lends it to one thread at a time.
class Connection {
 public:
  Connection(const RedisAddress& address, const RedisOptions& options, const Redactor& redactor)
      : redactor_(redactor), command_timeout_(options.command_timeout) {
    ctx_.reset(redisConnectWithTimeout(address.host.c_str(), address.port, ToTimeval(options.connect_timeout)));
    if (!ctx_) core::Fail(ErrorCode::kUnavailable, "cannot connect to Redis at " + redactor_.url() + ": out of memory");
    if (ctx_->err) {
      core::Fail(ErrorCode::kUnavailable,
                 redactor_.Scrub("cannot connect to Redis at " + redactor_.url() + ": " + ctx_->errstr));
    }
    if (redisSetTimeout(ctx_.get(), ToTimeval(command_timeout_)) != REDIS_OK) {
      core::Fail(ErrorCode::kUnavailable, "cannot set the Redis socket timeout: " + std::string(ctx_->errstr));
    }
    // Notices a peer that vanished without closing (a partition) on otherwise idle connections.
    redisEnableKeepAlive(ctx_.get());
    if (!address.password.empty()) {
      std::vector<std::string> auth = {"AUTH"};
      if (!address.user.empty()) auth.push_back(address.user);
      auth.push_back(address.password);
      Reply reply = Execute(auth);
      if (reply.is_error()) {
        core::Fail(ErrorCode::kUnavailable,
                   redactor_.Scrub("Redis at " + redactor_.url() + " rejected the credentials: " + reply.str()));
      }
    }
    if (address.db != 0) {
      Reply reply = Execute({"SELECT", std::to_string(address.db)});
      if (reply.is_error()) {
        core::Fail(ErrorCode::kUnavailable, redactor_.Scrub("Redis at " + redactor_.url() + " cannot select database " +
                                                            std::to_string(address.db) + ": " + reply.str()));
      }
    }
  }

  // True once an I/O error or timeout left the connection in an unknown protocol state.
  bool broken() const { return broken_; }

  // Whether an idle connection still looks usable: nothing may arrive unasked on an idle RESP2
  // connection, so a readable socket means the server closed it (e.g. it restarted) or sent an
  // error before closing. Checking costs one poll(2) and saves a failed command after every
  // server restart.
  bool LooksAlive() const {
    if (broken_ || ctx_->err) return false;
    pollfd p{};
    p.fd = ctx_->fd;
    p.events = POLLIN;
    int n = ::poll(&p, 1, 0);
    return n == 0;
  }

  // Sends one command and returns its reply, an error reply included. Throws
  // core::Error(kUnavailable) when the connection fails, and marks it broken.
  Reply Execute(const std::vector<std::string>& argv) {
    std::vector<const char*> pointers;
    std::vector<size_t> lengths;
    pointers.reserve(argv.size());
    lengths.reserve(argv.size());
    for (const std::string& a : argv) {
      pointers.push_back(a.data());
      lengths.push_back(a.size());
    }
    ReplyHandle reply;
    {
      SigpipeGuard guard;
      reply.reset(static_cast<redisReply*>(
          redisCommandArgv(ctx_.get(), static_cast<int>(argv.size()), pointers.data(), lengths.data())));
    }
    if (!reply) {
      broken_ = true;
      core::Fail(ErrorCode::kUnavailable, redactor_.Scrub("Redis at " + redactor_.url() + " failed during " +
                                                          CommandName(argv) + ": " + DescribeFailure()));
    }
    return Convert(reply.get());
  }

 private:
  std::string DescribeFailure() const {
    if (!ctx_->err) return "unknown error";
    std::string text = ctx_->errstr;
    // hiredis reports SO_RCVTIMEO/SO_SNDTIMEO expiring as the bare strerror(EAGAIN). (The GNU
    // strerror_r, which g++ selects, returns the text rather than filling the buffer.)
    char buf[128];
    if (ctx_->err == REDIS_ERR_IO && text == strerror_r(EAGAIN, buf, sizeof buf)) {
      return "no reply within " + std::to_string(command_timeout_.count()) + " ms";
    }
    return text;
  }

  ContextHandle ctx_;
  const Redactor& redactor_;  // owned by the client, which outlives its connections
  const std::chrono::milliseconds command_timeout_;
  bool broken_ = false;
};

// A bounded pool, filled lazily. Safe for concurrent use; must outlive every Lease.
class Pool {
 public:
  using Factory = std::function<std::unique_ptr<Connection>()>;

  // Moveable owner of one lent connection; gives it back (or closes it if broken) when
  // destroyed. Thread-compatible: used by the one thread that acquired it.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (conn_) pool_->Release(std::move(conn_));
    }
    Connection* operator->() const { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  Pool(int size, Factory factory) : size_(std::max(1, size)), factory_(std::move(factory)) {}

  Lease Acquire(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    std::unique_lock lock(mu_);
    for (;;) {
      if (!cv_.wait_until(lock, deadline, [&] { return !idle_.empty() || open_ < size_; })) {
        core::Fail(ErrorCode::kUnavailable, "redis: all " + std::to_string(size_) + " connections busy for " +
                                                std::to_string(wait.count()) + " ms");
      }
      if (idle_.empty()) break;
      // Most recently returned first: the least likely to have been closed by the server.
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->LooksAlive()) {
        ++in_use_;
        return Lease(this, std::move(conn));
      }
      --open_;
      lock.unlock();
      conn.reset();  // close outside the lock
      lock.lock();
    }
    ++open_;  // reserve the slot so that concurrent callers do not overshoot the size
    ++in_use_;
    lock.unlock();
    try {
      return Lease(this, factory_());
    } catch (...) {
      lock.lock();
      --open_;
      --in_use_;
      lock.unlock();
      cv_.notify_one();
      throw;
    }
  }

  // Closes every idle connection: when one broke, the others most likely broke with it (a
  // server restart or a network failure), and each would otherwise fail one command.
  void DropIdle() {
    std::vector<std::unique_ptr<Connection>> doomed;
    {
      std::lock_guard lock(mu_);
      doomed.swap(idle_);
      open_ -= static_cast<int>(doomed.size());
    }
    cv_.notify_all();
  }

  RedisPoolStats Stats() const {
    std::lock_guard lock(mu_);
    return RedisPoolStats{size_, in_use_, static_cast<int>(idle_.size())};
  }

 private:
  void Release(std::unique_ptr<Connection> conn) {
    bool reuse = !conn->broken();
    if (!reuse) conn.reset();
    {
      std::lock_guard lock(mu_);
      --in_use_;
      if (reuse) {
        idle_.push_back(std::move(conn));
      } else {
        --open_;
      }
    }
    cv_.notify_one();
  }

  const int size_;
  const Factory factory_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  int open_ = 0;                                   // idle + lent + being opened; guarded by mu_
  int in_use_ = 0;                                 // guarded by mu_
};

std::string Sha1Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
    core::Fail(ErrorCode::kInternal, "redis: SHA1 of a script failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

void ThrowIfError(const Reply& reply, std::string_view command) {
  if (reply.is_error()) throw ServerError(ClassifyErrorReply(reply.str()), reply.str(), command);
}

}  // namespace

// ---- RedisClient ----------------------------------------------------------------------------

// Safe for concurrent use (see RedisClient).
class RedisClient::Impl {
 public:
  explicit Impl(RedisOptions options)
      : options_(std::move(options)),
        address_(ParseRedisUrl(options_.url)),
        redactor_(RedactRedisUrl(options_.url), address_.password),
        pool_(options_.pool_size, [this] { return std::make_unique<Connection>(address_, options_, redactor_); }) {}

  Reply Command(const std::vector<std::string>& argv) {
    if (argv.empty()) core::Fail(ErrorCode::kInternal, "redis: empty command");
    Pool::Lease conn = pool_.Acquire(options_.command_timeout);
    Reply reply = Execute(conn, argv);
    ThrowIfError(reply, argv[0]);
    return reply;
  }

  Reply Eval(std::string_view script, const std::vector<std::string>& keys, const std::vector<std::string>& args) {
    std::vector<std::string> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.push_back("EVALSHA");
    argv.push_back(ScriptSha(script));
    argv.push_back(std::to_string(keys.size()));
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    Pool::Lease conn = pool_.Acquire(options_.command_timeout);
    Reply reply = Execute(conn, argv);
    if (reply.is_error() && reply.str().starts_with("NOSCRIPT")) {
      // EVAL caches the script on the server, so later EVALSHAs from any connection find it.
      argv[0] = "EVAL";
      argv[1] = std::string(script);
      reply = Execute(conn, argv);
    }
    ThrowIfError(reply, argv[0]);
    return reply;
  }

  bool Ping() {
    try {
      return Command({"PING"}).str() == "PONG";
    } catch (const core::Error&) {
      return false;
    }
  }

  RedisPoolStats Stats() const { return pool_.Stats(); }
  const std::string& redacted_url() const { return redactor_.url(); }

 private:
  Reply Execute(Pool::Lease& conn, const std::vector<std::string>& argv) {
    try {
      return conn->Execute(argv);
    } catch (const core::Error&) {
      if (conn->broken()) pool_.DropIdle();
      throw;
    }
  }

  // Scripts are program constants, so the cache stays as small as the set of scripts.
  std::string ScriptSha(std::string_view script) {
    std::lock_guard lock(sha_mu_);
    auto it = sha_cache_.find(std::string(script));
    if (it != sha_cache_.end()) return it->second;
    std::string sha = Sha1Hex(script);
    sha_cache_.emplace(std::string(script), sha);
    return sha;
  }

  const RedisOptions options_;
  const RedisAddress address_;
  const Redactor redactor_;
  Pool pool_;
  std::mutex sha_mu_;
  std::unordered_map<std::string, std::string> sha_cache_;  // script text -> SHA1; guarded by sha_mu_
};

RedisClient::RedisClient(RedisOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
RedisClient::~RedisClient() = default;

Reply RedisClient::Command(const std::vector<std::string>& argv) { return impl_->Command(argv); }

Reply RedisClient::Eval(std::string_view script, const std::vector<std::string>& keys,
                        const std::vector<std::string>& args) {
  return impl_->Eval(script, keys, args);
}

bool RedisClient::Ping() { return impl_->Ping(); }
RedisPoolStats RedisClient::Stats() const { return impl_->Stats(); }
const std::string& RedisClient::redacted_url() const { return impl_->redacted_url(); }

}  // namespace playground::redis
