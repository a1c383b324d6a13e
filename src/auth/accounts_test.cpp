// The accounts service on both backends, with a manual clock: tokens expire without sleeping.
#include "auth/accounts.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "auth/base64url.h"
#include "auth/jwt.h"
#include "auth/tokens.h"
#include "core/error.h"
#include "store/migrate.h"
#include "testkit/postgres_instance.h"
#include "testkit/process.h"

namespace playground::auth {
namespace {

using namespace std::chrono_literals;
using core::ErrorCode;

enum class Backend { kSqlite, kPostgres };

class AccountsTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store::StoreOptions o;
    o.url =
        GetParam() == Backend::kSqlite ? "sqlite://" + dir_.path() + "/a.db" : testkit::SharedPostgres().NewDatabase();
    store_ = store::OpenStore(o);
    store::Migrate(*store_);
    audit_ = std::make_unique<AuditLog>(*store_, clock_);
    AuthOptions opts;
    opts.secret_key = "0123456789abcdef0123456789abcdef-test-key";
    opts.argon2.memory_kib = 8192;  // cheap hashing keeps the suite fast; the cost is not under test here
    opts.argon2.iterations = 1;
    accounts_ = std::make_unique<Accounts>(*store_, clock_, *audit_, opts);
  }

  ErrorCode CodeOf(const std::function<void()>& f) {
    try {
      f();
    } catch (const core::Error& e) {
      return e.code();
    }
    ADD_FAILURE() << "no error";
    return ErrorCode::kInternal;
  }

  std::string Message(const std::function<void()>& f) {
    try {
      f();
    } catch (const core::Error& e) {
      return e.what();
    }
    return "";
  }

  testkit::TempDir dir_;
  core::ManualClock clock_{std::chrono::system_clock::time_point(std::chrono::hours(24 * 365 * 56))};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Accounts> accounts_;
  RequestInfo from_{"127.0.0.1", "req-1"};
  const std::string password_ = "correct horse battery";
};

TEST_P(AccountsTest, FirstAccountIsAdminThenMembers) {
  auto first = accounts_->Register("Ada@Example.com", password_, "", from_);
  EXPECT_EQ(first.role, "admin");
  EXPECT_EQ(first.email, "ada@example.com");
  auto second = accounts_->Register("bob@example.com", password_, "", from_);
  EXPECT_EQ(second.role, "member");
  EXPECT_EQ(CodeOf([&] { accounts_->Register("BOB@example.com", password_, "", from_); }), ErrorCode::kConflict);
  EXPECT_EQ(CodeOf([&] { accounts_->Register("not-an-email", password_, "", from_); }), ErrorCode::kValidation);
  EXPECT_EQ(CodeOf([&] { accounts_->Register("c@example.com", "short", "", from_); }), ErrorCode::kValidation);
  EXPECT_EQ(CodeOf([&] { accounts_->Register("carol.long@example.com", "carol.long@example.com", "", from_); }),
            ErrorCode::kValidation);
}

TEST_P(AccountsTest, PasswordsAreStoredAsArgon2idWithTheirParameters) {
  auto u = accounts_->Register("ada@example.com", password_, "", from_);
  auto hash = store_->Query("SELECT password_hash FROM users WHERE id = ?", {u.id}).rows.at(0).Text(0);
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=8192,t=1,p=1$", 0), 0u) << hash;
  EXPECT_EQ(hash.find(password_), std::string::npos);
}

TEST_P(AccountsTest, LoginDoesNotTellWhichPartWasWrong) {
  accounts_->Register("ada@example.com", password_, "", from_);
  std::string unknown = Message([&] { accounts_->Login("nobody@example.com", password_, from_); });
  std::string wrong = Message([&] { accounts_->Login("ada@example.com", "wrong password!!", from_); });
  EXPECT_EQ(unknown, wrong);
  EXPECT_FALSE(unknown.empty());
  auto t = accounts_->Login("ADA@example.com", password_, from_);
  EXPECT_FALSE(t.access_token.empty());
  EXPECT_EQ(t.refresh_token.rfind("pgr_", 0), 0u);
  EXPECT_EQ(t.expires_in, 30 * 60);
}

TEST_P(AccountsTest, AccessTokensExpire) {
  accounts_->Register("ada@example.com", password_, "", from_);
  auto t = accounts_->Login("ada@example.com", password_, from_);
  EXPECT_EQ(accounts_->Authenticate(t.access_token).user.email, "ada@example.com");
  clock_.Advance(29min);
  EXPECT_NO_THROW(accounts_->Authenticate(t.access_token));
  clock_.Advance(2min + 31s);  // past expiry and the 30 s leeway
  EXPECT_EQ(CodeOf([&] { accounts_->Authenticate(t.access_token); }), ErrorCode::kUnauthenticated);
}

TEST_P(AccountsTest, RefreshRotatesAndReuseEndsTheSession) {
  accounts_->Register("ada@example.com", password_, "", from_);
  auto t1 = accounts_->Login("ada@example.com", password_, from_);
  clock_.Advance(40min);
  auto t2 = accounts_->Refresh(t1.refresh_token, from_);
  EXPECT_NE(t2.refresh_token, t1.refresh_token);
  EXPECT_NO_THROW(accounts_->Authenticate(t2.access_token));
  // The old token again: someone has a copy. The whole session ends.
  EXPECT_EQ(CodeOf([&] { accounts_->Refresh(t1.refresh_token, from_); }), ErrorCode::kUnauthenticated);
  EXPECT_EQ(CodeOf([&] { accounts_->Refresh(t2.refresh_token, from_); }), ErrorCode::kUnauthenticated);
  EXPECT_EQ(CodeOf([&] { accounts_->Authenticate(t2.access_token); }), ErrorCode::kUnauthenticated);
  auto page = audit_->List(10, "", "refresh_reuse");
  ASSERT_EQ(page.entries.size(), 1u);
  // A new sign-in still works.
  EXPECT_NO_THROW(accounts_->Login("ada@example.com", password_, from_));
}

TEST_P(AccountsTest, RefreshTokensExpireAfterSevenDays) {
  accounts_->Register("ada@example.com", password_, "", from_);
  auto t = accounts_->Login("ada@example.com", password_, from_);
  clock_.Advance(7 * 24h + 1s);
  EXPECT_EQ(CodeOf([&] { accounts_->Refresh(t.refresh_token, from_); }), ErrorCode::kUnauthenticated);
}

TEST_P(AccountsTest, LogoutEndsAccessAndRefresh) {
  accounts_->Register("ada@example.com", password_, "", from_);
  auto t = accounts_->Login("ada@example.com", password_, from_);
  auto p = accounts_->Authenticate(t.access_token);
  accounts_->Logout(p.session_id, p.user.id, from_);
  EXPECT_EQ(CodeOf([&] { accounts_->Authenticate(t.access_token); }), ErrorCode::kUnauthenticated);
  EXPECT_EQ(CodeOf([&] { accounts_->Refresh(t.refresh_token, from_); }), ErrorCode::kUnauthenticated);
}

TEST_P(AccountsTest, DisablingAUserStopsItsTokensAndKeysAtOnce) {
  auto admin = accounts_->Register("ada@example.com", password_, "", from_);
  auto bob = accounts_->Register("bob@example.com", password_, "", from_);
  auto t = accounts_->Login("bob@example.com", password_, from_);
  auto [key, secret] = accounts_->CreateApiKey(bob.id, "app", "predict", from_);
  EXPECT_NO_THROW(accounts_->Authenticate(secret));
  accounts_->SetDisabled(bob.id, true, admin.id, from_);
  EXPECT_EQ(CodeOf([&] { accounts_->Authenticate(t.access_token); }), ErrorCode::kUnauthenticated);
  EXPECT_EQ(CodeOf([&] { accounts_->Authenticate(secret); }), ErrorCode::kUnauthenticated);
  EXPECT_EQ(CodeOf([&] { accounts_->Login("bob@example.com", password_, from_); }), ErrorCode::kUnauthenticated);
  accounts_->SetDisabled(bob.id, false, admin.id, from_);
  EXPECT_NO_THROW(accounts_->Login("bob@example.com", password_, from_));
}

TEST_P(AccountsTest, ForgedTokensAreRefused) {
  auto ada = accounts_->Register("ada@example.com", password_, "", from_);
  auto t = accounts_->Login("ada@example.com", password_, from_);
  std::string sid = accounts_->Authenticate(t.access_token).session_id;
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  nlohmann::json claims = {{"iss", "playground"}, {"sub", ada.id}, {"sid", sid}, {"iat", now}, {"exp", now + 600}};
  // Signed with another key.
  EXPECT_EQ(CodeOf([&] { accounts_->Authenticate(SignJwt(claims, "another-key-another-key-another-key")); }),
            ErrorCode::kUnauthenticated);
  // alg: none, no signature.
  std::string none = Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." + Base64UrlEncode(claims.dump()) + ".";
  EXPECT_EQ(CodeOf([&] { accounts_->Authenticate(none); }), ErrorCode::kUnauthenticated);
  // A payload changed after signing (role escalation attempt).
  std::string good = SignJwt(claims, accounts_->options().secret_key);
  EXPECT_NO_THROW(accounts_->Authenticate(good));
  auto dot1 = good.find('.'), dot2 = good.rfind('.');
  claims["sub"] = "someone-else";
  std::string tampered = good.substr(0, dot1 + 1) + Base64UrlEncode(claims.dump()) + good.substr(dot2);
  EXPECT_EQ(CodeOf([&] { accounts_->Authenticate(tampered); }), ErrorCode::kUnauthenticated);
  // HS512 claimed in the header.
  std::string hs512 = Base64UrlEncode(R"({"alg":"HS512","typ":"JWT"})") + good.substr(dot1);
  EXPECT_EQ(CodeOf([&] { accounts_->Authenticate(hs512); }), ErrorCode::kUnauthenticated);
  EXPECT_EQ(CodeOf([&] { accounts_->Authenticate("garbage"); }), ErrorCode::kUnauthenticated);
}

TEST_P(AccountsTest, ApiKeysAreShownOnceStoredHashedAndRevocable) {
  auto ada = accounts_->Register("ada@example.com", password_, "", from_);
  auto [key, secret] = accounts_->CreateApiKey(ada.id, "ci", "read", from_);
  EXPECT_EQ(secret.rfind("pgk_", 0), 0u);
  auto stored = store_->Query("SELECT key_hash FROM api_keys WHERE id = ?", {key.id}).rows.at(0).Text(0);
  EXPECT_EQ(stored, HashToken(secret));
  auto p = accounts_->Authenticate(secret);
  EXPECT_EQ(p.api_key_id, key.id);
  EXPECT_EQ(p.key_scope, "read");
  EXPECT_EQ(CodeOf([&] { accounts_->CreateApiKey(ada.id, "x", "everything", from_); }), ErrorCode::kValidation);
  accounts_->RevokeApiKey(key.id, ada.id, from_);
  EXPECT_EQ(CodeOf([&] { accounts_->Authenticate(secret); }), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(accounts_->ListApiKeys(ada.id).at(0).revoked);
}

TEST_P(AccountsTest, TheLastAdminCannotBeDemotedOrDisabled) {
  auto ada = accounts_->Register("ada@example.com", password_, "", from_);
  auto bob = accounts_->Register("bob@example.com", password_, "", from_);
  EXPECT_EQ(CodeOf([&] { accounts_->SetRole(ada.id, "member", ada.id, from_); }), ErrorCode::kConflict);
  EXPECT_EQ(CodeOf([&] { accounts_->SetDisabled(ada.id, true, ada.id, from_); }), ErrorCode::kConflict);
  accounts_->SetRole(bob.id, "admin", ada.id, from_);
  EXPECT_EQ(accounts_->SetRole(ada.id, "viewer", bob.id, from_).role, "viewer");
  auto page = audit_->List(10, "", "role_changed");
  EXPECT_EQ(page.entries.size(), 2u);
}

TEST_P(AccountsTest, AuditHoldsEventsButNoSecretsAndPages) {
  accounts_->Register("ada@example.com", password_, "", from_);
  for (int i = 0; i < 3; ++i) {
    EXPECT_ANY_THROW(accounts_->Login("ada@example.com", "guessed-secret-" + std::to_string(i), from_));
    clock_.Advance(1s);
  }
  auto t = accounts_->Login("ada@example.com", password_, from_);
  auto all = store_->Query("SELECT action, COALESCE(target, ''), COALESCE(detail, '') FROM audit_log");
  for (const auto& row : all.rows) {
    std::string text = row.Text(0) + row.Text(1) + row.Text(2);
    EXPECT_EQ(text.find(password_), std::string::npos);
    EXPECT_EQ(text.find("guessed-secret"), std::string::npos);
    EXPECT_EQ(text.find(t.refresh_token), std::string::npos);
  }
  auto first = audit_->List(2, "", "login_failed");
  ASSERT_EQ(first.entries.size(), 2u);
  ASSERT_FALSE(first.next_cursor.empty());
  auto second = audit_->List(2, first.next_cursor, "login_failed");
  ASSERT_EQ(second.entries.size(), 1u);
  EXPECT_TRUE(second.next_cursor.empty());
  EXPECT_GT(first.entries[0].at_us, second.entries[0].at_us);  // newest first
  EXPECT_EQ(second.entries[0].ip, "127.0.0.1");
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountsTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

}  // namespace
}  // namespace playground::auth
