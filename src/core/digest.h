// SHA-256 (OpenSSL underneath): upload checksums, model artifact checksums, data fingerprints,
// cache keys.
#pragma once

#include <string>
#include <string_view>

namespace playground::core {

// The raw 32-byte digest.
std::string Sha256(std::string_view bytes);
// Lower-case hex of a digest (or any bytes).
std::string Hex(std::string_view bytes);

// Incremental SHA-256. Thread-compatible.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view bytes);
  // The raw digest; the stream cannot be updated afterwards.
  std::string Finish();

 private:
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace playground::core
