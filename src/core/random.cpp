#include "core/random.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <vector>

#include "core/error.h"

namespace playground::core {
namespace {

void Fill(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) Fail(ErrorCode::kInternal, "the random source failed");
}

constexpr char kHex[] = "0123456789abcdef";

// xoshiro256** (Blackman and Vigna), seeded per thread from RAND_bytes.
class Xoshiro256 {
 public:
  Xoshiro256() { Fill(reinterpret_cast<unsigned char*>(s_), sizeof s_); }
  uint64_t Next() {
    uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace

std::string FastRandomHex128() {
  thread_local Xoshiro256 rng;
  std::string out(32, '0');
  for (int half = 0; half < 2; ++half) {
    uint64_t v = rng.Next();
    for (int i = 0; i < 16; ++i) {
      out[half * 16 + i] = kHex[v & 15];
      v >>= 4;
    }
  }
  return out;
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  Fill(raw.data(), bytes);
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string NewUuid() {
  std::array<unsigned char, 16> b{};
  Fill(b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
  }
  return out;
}

}  // namespace playground::core
