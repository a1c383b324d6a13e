#include "auth/password.h"

#include <argon2.h>
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "core/error.h"

namespace playground::auth {
namespace {

// Cheap parameters so that the tests stay fast; the defaults get their own tests.
constexpr Argon2Params kCheap{.memory_kib = 64, .iterations = 1, .parallelism = 1};

// The message of the core::Error(kValidation) that `f` throws, or "" if it throws none.
template <typename F>
std::string ValidationError(F f) {
  try {
    f();
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::kValidation);
    return e.what();
  }
  return "";
}

std::string PolicyError(std::string_view password, std::string_view email = "alice@example.com") {
  return ValidationError([&] { CheckPasswordPolicy(password, email); });
}

TEST(PasswordTest, DefaultsAreOwaspMinimum) {
  Argon2Params p;
  EXPECT_EQ(p.memory_kib, 19456u);
  EXPECT_EQ(p.iterations, 2u);
  EXPECT_EQ(p.parallelism, 1u);
  EXPECT_NO_THROW(ValidateArgon2Params(p));
}

TEST(PasswordTest, HashIsPhcEncodedArgon2idWithItsParameters) {
  std::string hash = HashPassword("correct horse battery", kCheap);
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=64,t=1,p=1$", 0), 0u) << hash;
  // 16-byte salt and 32-byte hash in unpadded base64: 22 and 43 characters.
  size_t salt_at = hash.find('$', 20) + 1;
  size_t hash_at = hash.find('$', salt_at) + 1;
  EXPECT_EQ(hash_at - salt_at - 1, 22u);
  EXPECT_EQ(hash.size() - hash_at, 43u);
}

TEST(PasswordTest, VerifyAcceptsTheRightPasswordOnly) {
  std::string hash = HashPassword("correct horse battery", kCheap);
  EXPECT_TRUE(VerifyPassword("correct horse battery", hash));
  EXPECT_FALSE(VerifyPassword("correct horse batterY", hash));
  EXPECT_FALSE(VerifyPassword("correct horse battery ", hash));
  EXPECT_FALSE(VerifyPassword("", hash));
}

TEST(PasswordTest, SaltMakesEveryHashDifferent) {
  std::string a = HashPassword("correct horse battery", kCheap);
  std::string b = HashPassword("correct horse battery", kCheap);
  EXPECT_NE(a, b);
  EXPECT_TRUE(VerifyPassword("correct horse battery", a));
  EXPECT_TRUE(VerifyPassword("correct horse battery", b));
}

TEST(PasswordTest, BytesAfterANulCount) {
  std::string with_nul("abcdefghij\0klm", 14);
  std::string hash = HashPassword(with_nul, kCheap);
  EXPECT_TRUE(VerifyPassword(with_nul, hash));
  EXPECT_FALSE(VerifyPassword("abcdefghij", hash));
}

TEST(PasswordTest, EmptyPasswordHashesAndVerifies) {
  // The policy forbids it, but the primitive must not misbehave on it.
  std::string hash = HashPassword("", kCheap);
  EXPECT_TRUE(VerifyPassword("", hash));
  EXPECT_FALSE(VerifyPassword("x", hash));
}

TEST(PasswordTest, VerifiesTheReferenceImplementationsTestVector) {
  // From phc-winner-argon2's test suite (argon2id, m=65536, t=2, p=1, salt "somesalt").
  const char* kVector = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
  EXPECT_TRUE(VerifyPassword("password", kVector));
  EXPECT_FALSE(VerifyPassword("passwore", kVector));
}

TEST(PasswordTest, MalformedOrForeignEncodingsVerifyAsFalse) {
  std::string good = HashPassword("correct horse battery", kCheap);
  const std::string pw = "correct horse battery";
  EXPECT_FALSE(VerifyPassword(pw, ""));
  EXPECT_FALSE(VerifyPassword(pw, "garbage"));
  EXPECT_FALSE(VerifyPassword(pw, "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"));  // bcrypt
  EXPECT_FALSE(VerifyPassword(pw, good.substr(0, good.size() - 1)));
  EXPECT_FALSE(VerifyPassword(pw, good + "A"));
  EXPECT_FALSE(VerifyPassword(pw, good + "$"));
  EXPECT_FALSE(VerifyPassword(pw, good.substr(0, good.rfind('$'))));  // no hash
  std::string other_type = good;
  other_type.replace(0, 9, "$argon2i");
  EXPECT_FALSE(VerifyPassword(pw, other_type));
  std::string old_version = good;
  old_version.replace(old_version.find("v=19"), 4, "v=16");
  EXPECT_FALSE(VerifyPassword(pw, old_version));
  std::string bad_number = good;
  bad_number.replace(bad_number.find("m=64"), 4, "m=x4");
  EXPECT_FALSE(VerifyPassword(pw, bad_number));
  std::string leading_zero = good;
  leading_zero.replace(leading_zero.find("m=64"), 4, "m=064");
  EXPECT_FALSE(VerifyPassword(pw, leading_zero));
  std::string overflow = good;
  overflow.replace(overflow.find("m=64"), 4, "m=99999999999");
  EXPECT_FALSE(VerifyPassword(pw, overflow));
  // A NUL inside the view must not let libargon2 see a shorter, different string.
  EXPECT_FALSE(VerifyPassword(pw, good + std::string("\0trailing", 9)));
}

TEST(PasswordTest, HashesAboveTheCostBoundsAreRefusedWithoutHashing) {
  // m=4 GiB would be allocated by libargon2 if the bound were not checked first.
  std::string good = HashPassword("correct horse battery", kCheap);
  std::string huge = good;
  huge.replace(huge.find("m=64"), 4, "m=4194304");
  EXPECT_FALSE(VerifyPassword("correct horse battery", huge));
  std::string slow = good;
  slow.replace(slow.find("t=1"), 3, "t=100000");
  EXPECT_FALSE(VerifyPassword("correct horse battery", slow));
}

TEST(PasswordTest, OverlongPasswordsAreRefused) {
  std::string hash = HashPassword(std::string(kMaxPasswordBytes, 'x'), kCheap);
  EXPECT_TRUE(VerifyPassword(std::string(kMaxPasswordBytes, 'x'), hash));
  EXPECT_FALSE(VerifyPassword(std::string(kMaxPasswordBytes + 1, 'x'), hash));
  EXPECT_NE(ValidationError([] { HashPassword(std::string(kMaxPasswordBytes + 1, 'x'), kCheap); }).find("at most 256"),
            std::string::npos);
}

TEST(PasswordTest, InvalidParametersAreValidationErrors) {
  EXPECT_NE(ValidationError([] {
              ValidateArgon2Params({.memory_kib = 64, .iterations = 1, .parallelism = 0});
            }).find("parallelism"),
            std::string::npos);
  EXPECT_NE(ValidationError([] {
              ValidateArgon2Params({.memory_kib = 64, .iterations = 0, .parallelism = 1});
            }).find("iterations"),
            std::string::npos);
  EXPECT_NE(ValidationError([] {
              ValidateArgon2Params({.memory_kib = 31, .iterations = 1, .parallelism = 4});
            }).find("memory"),
            std::string::npos);
  EXPECT_NE(ValidationError([] {
              ValidateArgon2Params({.memory_kib = kMaxArgon2MemoryKib + 1, .iterations = 1, .parallelism = 1});
            }).find("memory"),
            std::string::npos);
  EXPECT_NE(ValidationError([] {
              HashPassword("x", {.memory_kib = 64, .iterations = kMaxArgon2Iterations + 1, .parallelism = 1});
            }).find("iterations"),
            std::string::npos);
  EXPECT_NO_THROW(ValidateArgon2Params({.memory_kib = 32, .iterations = 1, .parallelism = 4}));
}

TEST(PasswordTest, ParallelismAboveOneHashesAndVerifies) {
  Argon2Params p{.memory_kib = 64, .iterations = 1, .parallelism = 2};
  std::string hash = HashPassword("correct horse battery", p);
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=64,t=1,p=2$", 0), 0u);
  EXPECT_TRUE(VerifyPassword("correct horse battery", hash));
}

TEST(PasswordTest, NeedsRehashWhenAnyParameterIsBelowCurrent) {
  std::string hash = HashPassword("correct horse battery", kCheap);
  EXPECT_FALSE(NeedsRehash(hash, kCheap));
  EXPECT_TRUE(NeedsRehash(hash, {.memory_kib = 128, .iterations = 1, .parallelism = 1}));
  EXPECT_TRUE(NeedsRehash(hash, {.memory_kib = 64, .iterations = 2, .parallelism = 1}));
  EXPECT_TRUE(NeedsRehash(hash, {.memory_kib = 64, .iterations = 1, .parallelism = 2}));
  EXPECT_TRUE(NeedsRehash(hash, Argon2Params{}));
  // Stronger than current: keep it.
  EXPECT_FALSE(NeedsRehash(hash, {.memory_kib = 32, .iterations = 1, .parallelism = 1}));
}

TEST(PasswordTest, NeedsRehashForShortSaltsAndUnparseableHashes) {
  // The reference vector's salt is 8 bytes, below our 16.
  EXPECT_TRUE(
      NeedsRehash("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", kCheap));
  EXPECT_TRUE(NeedsRehash("", kCheap));
  EXPECT_TRUE(NeedsRehash("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", kCheap));
}

TEST(PasswordTest, AnArgon2iHashIsNotAccepted) {
  char encoded[128];
  ASSERT_EQ(
      argon2i_hash_encoded(1, 64, 1, "correct horse battery", 21, "0123456789abcdef", 16, 32, encoded, sizeof encoded),
      ARGON2_OK);
  EXPECT_FALSE(VerifyPassword("correct horse battery", encoded));
  EXPECT_TRUE(NeedsRehash(encoded, kCheap));
}

TEST(PasswordPolicyTest, AcceptsLongEnoughPasswords) {
  EXPECT_EQ(PolicyError("correct horse battery"), "");
  EXPECT_EQ(PolicyError("abcdefghij"), "");
  EXPECT_EQ(PolicyError(std::string(kMaxPasswordBytes - 1, 'a') + "b"), "");
  // Ten code points, thirty bytes.
  EXPECT_EQ(PolicyError("\xe3\x83\x91\xe3\x82\xb9\xe3\x83\xaf\xe3\x83\xbc\xe3\x83\x89"
                        "\xe3\x83\x91\xe3\x82\xb9\xe3\x83\xaf\xe3\x83\xbc\xe3\x83\x89"),
            "");
  EXPECT_EQ(PolicyError("correct horse battery", ""), "");
}

TEST(PasswordPolicyTest, RejectsShortPasswordsCountingCharactersNotBytes) {
  EXPECT_NE(PolicyError("").find("at least 10 characters"), std::string::npos);
  EXPECT_NE(PolicyError("abcdefghi").find("at least 10 characters"), std::string::npos);
  // Nine 2-byte characters: 18 bytes but too short.
  EXPECT_NE(PolicyError("\xc3\xa9\xc3\xa0\xc3\xa8\xc3\xa9\xc3\xa0\xc3\xa8\xc3\xa9\xc3\xa0\xc3\xa8")
                .find("at least 10 characters"),
            std::string::npos);
}

TEST(PasswordPolicyTest, RejectsOverlongPasswords) {
  EXPECT_NE(PolicyError(std::string(kMaxPasswordBytes, 'a') + "b").find("at most 256 bytes"), std::string::npos);
}

TEST(PasswordPolicyTest, RejectsInvalidUtf8) {
  EXPECT_NE(PolicyError("abcdefghij\xff").find("UTF-8"), std::string::npos);
  EXPECT_NE(PolicyError("abcdefghij\xc3").find("UTF-8"), std::string::npos);              // truncated
  EXPECT_NE(PolicyError("abcdefghij\xc0\xaf").find("UTF-8"), std::string::npos);          // overlong '/'
  EXPECT_NE(PolicyError("abcdefghij\xed\xa0\x80").find("UTF-8"), std::string::npos);      // surrogate
  EXPECT_NE(PolicyError("abcdefghij\xf4\x90\x80\x80").find("UTF-8"), std::string::npos);  // > U+10FFFF
  EXPECT_NE(PolicyError("abcdefghij\x80").find("UTF-8"), std::string::npos);              // stray continuation
}

TEST(PasswordPolicyTest, RejectsOneRepeatedCharacter) {
  EXPECT_NE(PolicyError("aaaaaaaaaaaa").find("single character repeated"), std::string::npos);
  EXPECT_NE(PolicyError(std::string(20, ' ')).find("single character repeated"), std::string::npos);
  EXPECT_NE(PolicyError("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9")
                .find("single character repeated"),
            std::string::npos);
  EXPECT_EQ(PolicyError("aaaaaaaaab"), "");
}

TEST(PasswordPolicyTest, RejectsTheEmailAndItsLocalPartIgnoringCase) {
  EXPECT_NE(PolicyError("alice.smith@example.com", "alice.smith@example.com").find("email address"), std::string::npos);
  EXPECT_NE(PolicyError("Alice.Smith@Example.COM", "alice.smith@example.com").find("email address"), std::string::npos);
  EXPECT_NE(PolicyError("ALICE.SMITH", "alice.smith@example.com").find("before the '@'"), std::string::npos);
  EXPECT_NE(PolicyError("alice.smith", "Alice.Smith@example.com").find("before the '@'"), std::string::npos);
  EXPECT_EQ(PolicyError("alice.smith1", "alice.smith@example.com"), "");
  EXPECT_EQ(PolicyError("example.com", "alice.smith@example.com"), "");
}

TEST(PasswordPolicyTest, MessagesNeverContainThePassword) {
  for (const char* pw : {"hunter2", "zzzzzzzzzzzzzzzz", "bob.builder.x", "bob.builder.x@example.org"}) {
    std::string message = PolicyError(pw, "bob.builder.x@example.org");
    ASSERT_NE(message, "") << pw;
    EXPECT_EQ(message.find(pw), std::string::npos) << message;
  }
}

// Informational: how long one login costs with the default parameters on this machine.
TEST(PasswordTest, ReportsMillisecondsPerHashWithDefaultParameters) {
  Argon2Params defaults;
  constexpr int kRounds = 5;
  std::string hash = HashPassword("correct horse battery", defaults);  // warm-up
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) hash = HashPassword("correct horse battery", defaults);
  double hash_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / kRounds;
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) EXPECT_TRUE(VerifyPassword("correct horse battery", hash));
  double verify_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / kRounds;
  std::cout << "argon2id m=" << defaults.memory_kib << " KiB t=" << defaults.iterations << " p=" << defaults.parallelism
            << ": " << hash_ms << " ms per hash, " << verify_ms << " ms per verify\n";
  EXPECT_FALSE(NeedsRehash(hash, defaults));
}

}  // namespace
}  // namespace playground::auth
