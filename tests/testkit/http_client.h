// A small blocking HTTP/1.1 client for black-box tests (Boost.Beast), one connection per client
// so that keep-alive can be tested too. Thread-compatible: one client per thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace playground::testkit {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  nlohmann::json Json() const { return nlohmann::json::parse(body); }
  std::string Header(const std::string& name) const;
};

class HttpClient {
 public:
  HttpClient(std::string host, int port, std::chrono::seconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse Get(const std::string& target, const std::map<std::string, std::string>& headers = {});
  HttpResponse Post(const std::string& target, const std::string& body,
                    const std::string& content_type = "application/json",
                    const std::map<std::string, std::string>& headers = {});
  HttpResponse Request(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {});
  // Sends raw bytes on the connection and reads one response (for malformed-request tests).
  HttpResponse Raw(const std::string& bytes);
  // Sends raw bytes without reading anything back.
  void Send(const std::string& bytes);
  // Reads one response (after Send).
  HttpResponse ReadResponse();
  // Reads raw bytes until `needle` has arrived (or the timeout/close); returns all read so far.
  std::string ReadUntil(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True when the server has closed this client's connection.
  bool ServerClosed();
  // Opens a new connection (after the server closed the last one).
  void Reconnect();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace playground::testkit
