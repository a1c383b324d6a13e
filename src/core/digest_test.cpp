// SHA-256 against the FIPS 180-2 test vectors, one-shot and streamed.
#include "core/digest.h"

#include <gtest/gtest.h>

namespace playground::core {
namespace {

TEST(DigestTest, Sha256MatchesTheStandardVectors) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256Stream s;
  s.Update("abcdbcdecdefdefgefghfghighijhijkijkljklm");
  s.Update("klmnlmnomnopnopq");
  EXPECT_EQ(Hex(s.Finish()), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

}  // namespace
}  // namespace playground::core
