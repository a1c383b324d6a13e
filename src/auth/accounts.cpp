#include "auth/accounts.h"

#include <algorithm>

#include "auth/jwt.h"
#include "auth/tokens.h"
#include "core/error.h"
#include "core/random.h"

namespace playground::auth {
namespace {

using core::ErrorCode;
using core::Fail;

// Distinguishes the installation-wide "first account" lock from other advisory locks.
constexpr int64_t kRegisterLock = 0x706c6179;

constexpr auto kKeyUseGranularity = std::chrono::minutes(1);

User UserFromRow(const store::Row& row) {
  // Columns: id, email, role, disabled, created_at.
  return User{row.Text(0), row.Text(1), row.Text(2), row.Int(3) != 0, row.Int(4)};
}

constexpr const char* kUserColumns = "id, email, role, disabled, created_at";

ApiKey KeyFromRow(const store::Row& row) {
  // Columns: id, user_id, name, key_prefix, scope, created_at, last_used_at, revoked_at.
  return ApiKey{
      row.Text(0),   row.Text(1), row.Text(2), row.Text(3), row.Text(4), row.Int(5), row.OptInt(6).value_or(0),
      !row.IsNull(7)};
}

constexpr const char* kKeyColumns = "id, user_id, name, key_prefix, scope, created_at, last_used_at, revoked_at";

[[noreturn]] void BadCredentials() { Fail(ErrorCode::kUnauthenticated, "invalid email or password"); }

}  // namespace

bool IsValidRole(std::string_view role) { return role == kRoleAdmin || role == kRoleMember || role == kRoleViewer; }

bool IsValidScope(std::string_view scope) { return scope == "predict" || scope == "read" || scope == "full"; }

std::string NormalizeEmail(const std::string& email) {
  std::string e = email;
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  auto at = e.find('@');
  bool ok = !e.empty() && e.size() <= 254 && at != std::string::npos && at > 0 && at == e.rfind('@') &&
            e.find('.', at) != std::string::npos && e.back() != '.' && e.find_first_of(" \t\r\n") == std::string::npos;
  if (!ok) Fail(ErrorCode::kValidation, "email: '" + email.substr(0, 64) + "' is not an email address");
  return e;
}

Accounts::Accounts(store::Store& store, const core::Clock& clock, AuditLog& audit, AuthOptions options)
    : store_(store), clock_(clock), audit_(audit), options_(std::move(options)) {
  if (options_.secret_key.empty()) Fail(ErrorCode::kInternal, "accounts need a secret key");
  dummy_hash_ = HashPassword("not-a-real-password-just-for-timing", options_.argon2);
}

User Accounts::Register(const std::string& email, const std::string& password, const std::string& role,
                        const RequestInfo& from) {
  std::string normalized = NormalizeEmail(email);
  CheckPasswordPolicy(password, normalized);
  if (!role.empty() && !IsValidRole(role)) {
    Fail(ErrorCode::kValidation, "role: '" + role + "' is not one of admin, member, viewer");
  }
  std::string hash = HashPassword(password, options_.argon2);  // outside the transaction: it is slow
  User user;
  store_.Transaction([&](store::Tx& tx) {
    if (store_.dialect() == store::Dialect::kPostgres) {
      tx.Query("SELECT pg_advisory_xact_lock(?)", {kRegisterLock});  // one "first account" at a time
    }
    if (!tx.Query("SELECT id FROM users WHERE email = ?", {normalized}).rows.empty()) {
      Fail(ErrorCode::kConflict, "an account with this email already exists");
    }
    bool first = tx.Query("SELECT COUNT(*) FROM users").rows.at(0).Int(0) == 0;
    int64_t now = store::ToMicros(clock_.Now());
    user = User{core::NewUuid(), normalized, first ? kRoleAdmin : (role.empty() ? kRoleMember : role), false, now};
    tx.Exec(
        "INSERT INTO users (id, email, password_hash, role, disabled, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 0, ?, ?)",
        {user.id, user.email, hash, user.role, now, now});
  });
  audit_.Record("user_created", user.id, user.id, from, {{"email", user.email}, {"role", user.role}});
  return user;
}

Tokens Accounts::Login(const std::string& email, const std::string& password, const RequestInfo& from) {
  std::string normalized;
  try {
    normalized = NormalizeEmail(email);
  } catch (const core::Error&) {
    BadCredentials();
  }
  auto rows =
      store_.Query(std::string("SELECT ") + kUserColumns + ", password_hash FROM users WHERE email = ?", {normalized})
          .rows;
  if (rows.empty()) {
    VerifyPassword(password, dummy_hash_);  // the same work as for a real account
    audit_.Record("login_failed", "", normalized, from, {{"reason", "unknown email"}});
    BadCredentials();
  }
  User user = UserFromRow(rows[0]);
  std::string stored = rows[0].Text(5);
  if (!VerifyPassword(password, stored)) {
    audit_.Record("login_failed", user.id, user.id, from, {{"reason", "wrong password"}});
    BadCredentials();
  }
  if (user.disabled) {
    audit_.Record("login_failed", user.id, user.id, from, {{"reason", "account disabled"}});
    Fail(ErrorCode::kUnauthenticated, "this account is disabled; ask an administrator");
  }
  if (NeedsRehash(stored, options_.argon2)) {
    store_.Exec("UPDATE users SET password_hash = ? WHERE id = ?", {HashPassword(password, options_.argon2), user.id});
  }
  Tokens tokens;
  store_.Transaction([&](store::Tx& tx) {
    std::string session_id = core::NewUuid();
    tx.Exec("INSERT INTO sessions (id, user_id, created_at) VALUES (?, ?, ?)",
            {session_id, user.id, store::ToMicros(clock_.Now())});
    tokens = IssueTokens(user, session_id, tx);
  });
  audit_.Record("login", user.id, user.id, from);
  return tokens;
}

Tokens Accounts::IssueTokens(const User& user, const std::string& session_id, store::Tx& tx) {
  auto now = clock_.Now();
  int64_t iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  nlohmann::json claims = {{"iss", options_.issuer},
                           {"sub", user.id},
                           {"sid", session_id},
                           {"role", user.role},
                           {"iat", iat},
                           {"exp", iat + options_.access_ttl.count()},
                           {"jti", core::FastRandomHex128()}};
  Tokens t;
  t.access_token = SignJwt(claims, options_.secret_key);
  t.expires_in = options_.access_ttl.count();
  t.refresh_token = NewOpaqueToken(kRefreshTokenPrefix);
  t.refresh_expires_at_us = store::ToMicros(now + options_.refresh_ttl);
  t.user = user;
  tx.Exec("INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
          {HashToken(t.refresh_token), session_id, store::ToMicros(now), t.refresh_expires_at_us});
  return t;
}

Tokens Accounts::Refresh(const std::string& refresh_token, const RequestInfo& from) {
  if (refresh_token.rfind(kRefreshTokenPrefix, 0) != 0) {
    Fail(ErrorCode::kUnauthenticated, "the refresh token is not valid");
  }
  std::string hash = HashToken(refresh_token);
  int64_t now = store::ToMicros(clock_.Now());
  Tokens tokens;
  bool reused = false;
  std::string reused_session, reused_user;
  store_.Transaction([&](store::Tx& tx) {
    auto rows = tx.Query(
                      "SELECT r.session_id, r.expires_at, r.used_at, s.revoked_at, u.id, u.email, u.role, u.disabled, "
                      "u.created_at FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id "
                      "JOIN users u ON u.id = s.user_id WHERE r.token_hash = ?",
                      {hash})
                    .rows;
    if (rows.empty()) Fail(ErrorCode::kUnauthenticated, "the refresh token is not valid");
    const auto& row = rows[0];
    std::string session_id = row.Text(0);
    User user{row.Text(4), row.Text(5), row.Text(6), row.Int(7) != 0, row.Int(8)};
    if (!row.IsNull(3)) Fail(ErrorCode::kUnauthenticated, "this session has ended; sign in again");
    // Used before, or used concurrently (the conditional update below changes nothing): a copy
    // of the token is in someone else's hands. End the session for everyone holding it.
    bool used =
        !row.IsNull(2) ||
        tx.Exec("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL", {now, hash}) != 1;
    if (used) {
      tx.Exec("UPDATE sessions SET revoked_at = ?, revoked_reason = 'refresh token reused' WHERE id = ?",
              {now, session_id});
      reused = true;
      reused_session = session_id;
      reused_user = user.id;
      return;  // commit the revocation
    }
    if (row.Int(1) <= now) Fail(ErrorCode::kUnauthenticated, "the refresh token has expired; sign in again");
    if (user.disabled) Fail(ErrorCode::kUnauthenticated, "this account is disabled; ask an administrator");
    tokens = IssueTokens(user, session_id, tx);
  });
  if (reused) {
    audit_.Record("refresh_reuse", reused_user, reused_session, from);
    Fail(ErrorCode::kUnauthenticated, "this refresh token was already used; the session has been ended, sign in again");
  }
  return tokens;
}

void Accounts::Logout(const std::string& session_id, const std::string& actor_id, const RequestInfo& from) {
  store_.Exec("UPDATE sessions SET revoked_at = ?, revoked_reason = 'logout' WHERE id = ? AND revoked_at IS NULL",
              {store::ToMicros(clock_.Now()), session_id});
  audit_.Record("logout", actor_id, session_id, from);
}

Principal Accounts::Authenticate(std::string_view credential) {
  Principal p;
  if (credential.rfind(kApiKeyPrefix, 0) == 0) {
    auto rows = store_
                    .Query(
                        "SELECT k.id, k.scope, k.revoked_at, k.last_used_at, u.id, u.email, u.role, u.disabled, "
                        "u.created_at FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?",
                        {HashToken(credential)})
                    .rows;
    if (rows.empty()) Fail(ErrorCode::kUnauthenticated, "the API key is not valid");
    const auto& row = rows[0];
    if (!row.IsNull(2)) Fail(ErrorCode::kUnauthenticated, "the API key has been revoked");
    p.user = User{row.Text(4), row.Text(5), row.Text(6), row.Int(7) != 0, row.Int(8)};
    if (p.user.disabled) Fail(ErrorCode::kUnauthenticated, "the API key's account is disabled");
    p.api_key_id = row.Text(0);
    p.key_scope = row.Text(1);
    // Record use at most once a minute: a write per prediction would cost more than it tells.
    int64_t now = store::ToMicros(clock_.Now());
    if (row.OptInt(3).value_or(0) + std::chrono::duration_cast<std::chrono::microseconds>(kKeyUseGranularity).count() <
        now) {
      store_.Exec("UPDATE api_keys SET last_used_at = ? WHERE id = ?", {now, p.api_key_id});
    }
    return p;
  }
  nlohmann::json claims = VerifyJwt(credential, options_.secret_key, options_.issuer, clock_);
  if (!claims.contains("sub") || !claims["sub"].is_string() || !claims.contains("sid") || !claims["sid"].is_string()) {
    Fail(ErrorCode::kUnauthenticated, "the access token lacks its subject or session");
  }
  auto rows =
      store_
          .Query(std::string("SELECT u.id, u.email, u.role, u.disabled, u.created_at, s.revoked_at FROM users u "
                             "JOIN sessions s ON s.user_id = u.id WHERE u.id = ? AND s.id = ?"),
                 {claims["sub"].get<std::string>(), claims["sid"].get<std::string>()})
          .rows;
  if (rows.empty()) Fail(ErrorCode::kUnauthenticated, "the access token's account or session no longer exists");
  p.user = UserFromRow(rows[0]);
  if (!rows[0].IsNull(5)) Fail(ErrorCode::kUnauthenticated, "this session has ended; sign in again");
  if (p.user.disabled) Fail(ErrorCode::kUnauthenticated, "this account is disabled; ask an administrator");
  p.session_id = claims["sid"].get<std::string>();
  return p;
}

std::optional<User> Accounts::FindUser(const std::string& id) const {
  auto rows = store_.Query(std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?", {id}).rows;
  if (rows.empty()) return std::nullopt;
  return UserFromRow(rows[0]);
}

std::optional<User> Accounts::FindUserByEmail(const std::string& email) const {
  auto rows =
      store_.Query(std::string("SELECT ") + kUserColumns + " FROM users WHERE email = ?", {NormalizeEmail(email)}).rows;
  if (rows.empty()) return std::nullopt;
  return UserFromRow(rows[0]);
}

std::vector<User> Accounts::ListUsers() const {
  std::vector<User> out;
  for (const auto& row :
       store_.Query(std::string("SELECT ") + kUserColumns + " FROM users ORDER BY created_at, id").rows) {
    out.push_back(UserFromRow(row));
  }
  return out;
}

void Accounts::CheckStillAnAdmin(store::Tx& tx, const std::string& changing_user_id) {
  int64_t others =
      tx.Query("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id <> ?", {changing_user_id})
          .rows.at(0)
          .Int(0);
  if (others == 0) Fail(ErrorCode::kConflict, "this is the last active admin; make another admin first");
}

User Accounts::SetRole(const std::string& user_id, const std::string& role, const std::string& actor_id,
                       const RequestInfo& from) {
  if (!IsValidRole(role)) Fail(ErrorCode::kValidation, "role: '" + role + "' is not one of admin, member, viewer");
  std::string old_role;
  store_.Transaction([&](store::Tx& tx) {
    if (store_.dialect() == store::Dialect::kPostgres) tx.Query("SELECT pg_advisory_xact_lock(?)", {kRegisterLock});
    auto rows = tx.Query("SELECT role FROM users WHERE id = ?", {user_id}).rows;
    if (rows.empty()) Fail(ErrorCode::kNotFound, "no user " + user_id);
    old_role = rows[0].Text(0);
    if (old_role == kRoleAdmin && role != kRoleAdmin) CheckStillAnAdmin(tx, user_id);
    tx.Exec("UPDATE users SET role = ?, updated_at = ? WHERE id = ?", {role, store::ToMicros(clock_.Now()), user_id});
  });
  audit_.Record("role_changed", actor_id, user_id, from, {{"from", old_role}, {"to", role}});
  return *FindUser(user_id);
}

User Accounts::SetDisabled(const std::string& user_id, bool disabled, const std::string& actor_id,
                           const RequestInfo& from) {
  store_.Transaction([&](store::Tx& tx) {
    if (store_.dialect() == store::Dialect::kPostgres) tx.Query("SELECT pg_advisory_xact_lock(?)", {kRegisterLock});
    auto rows = tx.Query("SELECT role FROM users WHERE id = ?", {user_id}).rows;
    if (rows.empty()) Fail(ErrorCode::kNotFound, "no user " + user_id);
    if (disabled && rows[0].Text(0) == kRoleAdmin) CheckStillAnAdmin(tx, user_id);
    int64_t now = store::ToMicros(clock_.Now());
    tx.Exec("UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?", {int64_t{disabled ? 1 : 0}, now, user_id});
    if (disabled) {
      tx.Exec(
          "UPDATE sessions SET revoked_at = ?, revoked_reason = 'account disabled' WHERE user_id = ? AND "
          "revoked_at IS NULL",
          {now, user_id});
    }
  });
  audit_.Record(disabled ? "user_disabled" : "user_enabled", actor_id, user_id, from);
  return *FindUser(user_id);
}

std::pair<ApiKey, std::string> Accounts::CreateApiKey(const std::string& user_id, const std::string& name,
                                                      const std::string& scope, const RequestInfo& from) {
  if (!IsValidScope(scope)) Fail(ErrorCode::kValidation, "scope: '" + scope + "' is not one of predict, read, full");
  if (name.empty() || name.size() > 100)
    Fail(ErrorCode::kValidation, "name: give the key a name of 1 to 100 characters");
  std::string secret = NewOpaqueToken(kApiKeyPrefix);
  ApiKey key{core::NewUuid(), user_id, name, secret.substr(0, 10), scope, store::ToMicros(clock_.Now()), 0, false};
  store_.Exec(
      "INSERT INTO api_keys (id, user_id, name, key_hash, key_prefix, scope, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      {key.id, user_id, name, HashToken(secret), key.prefix, scope, key.created_at_us});
  audit_.Record("api_key_created", user_id, key.id, from, {{"name", name}, {"scope", scope}});
  return {key, secret};
}

std::vector<ApiKey> Accounts::ListApiKeys(const std::string& user_id) const {
  std::string sql = std::string("SELECT ") + kKeyColumns + " FROM api_keys";
  store::Params params;
  if (!user_id.empty()) {
    sql += " WHERE user_id = ?";
    params.emplace_back(user_id);
  }
  sql += " ORDER BY created_at DESC, id";
  std::vector<ApiKey> out;
  for (const auto& row : store_.Query(sql, params).rows) out.push_back(KeyFromRow(row));
  return out;
}

std::optional<ApiKey> Accounts::FindApiKey(const std::string& id) const {
  auto rows = store_.Query(std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE id = ?", {id}).rows;
  if (rows.empty()) return std::nullopt;
  return KeyFromRow(rows[0]);
}

void Accounts::RevokeApiKey(const std::string& id, const std::string& actor_id, const RequestInfo& from) {
  store_.Exec("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
              {store::ToMicros(clock_.Now()), id});
  audit_.Record("api_key_revoked", actor_id, id, from);
}

}  // namespace playground::auth
