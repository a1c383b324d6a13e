#include "testkit/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace playground::testkit {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string HttpResponse::Header(const std::string& name) const {
  std::string lower = name;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(lower);
  return it == headers.end() ? "" : it->second;
}

struct HttpClient::Impl {
  std::string host;
  int port;
  std::chrono::seconds timeout;
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool closing = false;  // the last response said Connection: close

  void Connect() {
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(net::ip::make_address(host), static_cast<unsigned short>(port)));
  }

  // Runs the io_context until the pending operation completes.
  template <typename Op>
  void Await(Op op) {
    beast::error_code result;
    bool done = false;
    op([&](beast::error_code ec, size_t) {
      result = ec;
      done = true;
    });
    ioc.restart();
    while (!done && ioc.run_one() > 0) {
    }
    if (result) throw beast::system_error(result);
  }

  HttpResponse ReadResponse() {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1ull << 32);
    parser.header_limit(1 << 20);
    stream.expires_after(timeout);
    Await([&](auto handler) { bhttp::async_read(stream, buffer, parser, handler); });
    auto& msg = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(msg.result_int());
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto& slot = out.headers[name];
      slot += (slot.empty() ? "" : ", ") + std::string(f.value());
    }
    out.body = std::move(msg.body());
    return out;
  }
};

HttpClient::HttpClient(std::string host, int port, std::chrono::seconds timeout) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
  impl_->Connect();
}

HttpClient::~HttpClient() {
  beast::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

void HttpClient::Reconnect() {
  beast::error_code ec;
  impl_->stream.socket().close(ec);
  impl_->buffer.clear();
  impl_->closing = false;
  impl_->Connect();
}

HttpResponse HttpClient::Request(const std::string& method, const std::string& target, const std::string& body,
                                 const std::map<std::string, std::string>& headers) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, impl_->host);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.body() = body;
    req.prepare_payload();
  }
  if (impl_->closing) Reconnect();
  impl_->stream.expires_after(impl_->timeout);
  try {
    impl_->Await([&](auto handler) { bhttp::async_write(impl_->stream, req, handler); });
  } catch (const beast::system_error& e) {
    // A server may answer and close before reading a whole body it refuses (413): the write
    // fails, but the answer is there to read.
    if (e.code() != net::error::broken_pipe && e.code() != net::error::connection_reset) throw;
    try {
      auto early = impl_->ReadResponse();
      impl_->closing = true;
      return early;
    } catch (const std::exception&) {
      throw e;
    }
  }
  if (method == "HEAD") {
    bhttp::response_parser<bhttp::empty_body> parser;
    parser.skip(true);
    impl_->Await([&](auto handler) { bhttp::async_read(impl_->stream, impl_->buffer, parser, handler); });
    HttpResponse out;
    out.status = static_cast<int>(parser.get().result_int());
    for (const auto& f : parser.get()) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    return out;
  }
  auto out = impl_->ReadResponse();
  impl_->closing = out.Header("connection").find("close") != std::string::npos;
  return out;
}

HttpResponse HttpClient::Get(const std::string& target, const std::map<std::string, std::string>& headers) {
  return Request("GET", target, "", headers);
}

HttpResponse HttpClient::Post(const std::string& target, const std::string& body, const std::string& content_type,
                              const std::map<std::string, std::string>& headers) {
  auto h = headers;
  h["Content-Type"] = content_type;
  return Request("POST", target, body, h);
}

HttpResponse HttpClient::Raw(const std::string& bytes) {
  impl_->stream.expires_after(impl_->timeout);
  impl_->Await([&](auto handler) { net::async_write(impl_->stream, net::buffer(bytes), handler); });
  return impl_->ReadResponse();
}

void HttpClient::Send(const std::string& bytes) {
  impl_->stream.expires_after(impl_->timeout);
  impl_->Await([&](auto handler) { net::async_write(impl_->stream, net::buffer(bytes), handler); });
}

HttpResponse HttpClient::ReadResponse() { return impl_->ReadResponse(); }

std::string HttpClient::ReadUntil(const std::string& needle, std::chrono::milliseconds timeout) {
  std::string got(static_cast<const char*>(impl_->buffer.data().data()), impl_->buffer.size());
  impl_->buffer.consume(impl_->buffer.size());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (got.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    char buf[4096];
    size_t n = 0;
    beast::error_code result;
    bool done = false;
    impl_->stream.expires_at(deadline);
    impl_->stream.async_read_some(net::buffer(buf), [&](beast::error_code ec, size_t bytes) {
      result = ec;
      n = bytes;
      done = true;
    });
    impl_->ioc.restart();
    while (!done && impl_->ioc.run_one() > 0) {
    }
    got.append(buf, n);
    if (result) break;
  }
  return got;
}

bool HttpClient::ServerClosed() {
  char c;
  impl_->stream.expires_after(std::chrono::seconds(5));
  beast::error_code result;
  bool done = false;
  impl_->stream.async_read_some(net::buffer(&c, 1), [&](beast::error_code ec, size_t) {
    result = ec;
    done = true;
  });
  impl_->ioc.restart();
  while (!done && impl_->ioc.run_one() > 0) {
  }
  return result == net::error::eof || result == net::error::connection_reset;
}

}  // namespace playground::testkit
