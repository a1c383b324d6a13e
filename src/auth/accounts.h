// Accounts: users, sign-in sessions with rotating refresh tokens, access tokens (JWT), API keys
// and the checks that turn a credential into a Principal. This is the one place that decides
// who a caller is; what a caller may do is declared per route (http::Access) and enforced by the
// api module's middleware, with ownership checked by the resource's own handlers.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "auth/audit.h"
#include "auth/password.h"
#include "core/clock.h"
#include "store/store.h"

namespace playground::auth {

inline constexpr const char* kRoleAdmin = "admin";
inline constexpr const char* kRoleMember = "member";
inline constexpr const char* kRoleViewer = "viewer";
bool IsValidRole(std::string_view role);
// API key scopes: "predict" (prediction endpoints), "read" (read-only endpoints), "full"
// (everything the key's user may do).
bool IsValidScope(std::string_view scope);

struct AuthOptions {
  std::string secret_key;
  std::string issuer = "playground";
  std::chrono::seconds access_ttl{30 * 60};         // ACCESS_TOKEN_EXPIRE_MINUTES
  std::chrono::seconds refresh_ttl{7 * 24 * 3600};  // seven days
  Argon2Params argon2;
};

struct User {
  std::string id;
  std::string email;
  std::string role;
  bool disabled = false;
  int64_t created_at_us = 0;
};

struct Principal {
  User user;
  std::string session_id;  // signed in with an access token
  std::string api_key_id;  // or authenticated by an API key
  std::string key_scope;
};

struct Tokens {
  std::string access_token;
  int64_t expires_in = 0;  // seconds
  std::string refresh_token;
  int64_t refresh_expires_at_us = 0;
  User user;
};

struct ApiKey {
  std::string id;
  std::string user_id;
  std::string name;
  std::string prefix;
  std::string scope;
  int64_t created_at_us = 0;
  int64_t last_used_at_us = 0;  // 0: never
  bool revoked = false;
};

// Safe for concurrent use: all state is in the database.
class Accounts {
 public:
  Accounts(store::Store& store, const core::Clock& clock, AuditLog& audit, AuthOptions options);

  // Creates an account. The first account of an empty installation becomes admin; later ones
  // get `role` (member when empty). Throws kValidation (bad email, weak password, bad role) or
  // kConflict (email taken).
  User Register(const std::string& email, const std::string& password, const std::string& role,
                const RequestInfo& from);

  // Signs in. Throws kUnauthenticated with the same message whether the email or the password
  // is wrong (and spends the same time), and a distinct one for a disabled account once the
  // password is right.
  Tokens Login(const std::string& email, const std::string& password, const RequestInfo& from);

  // Exchanges a refresh token for new tokens; the old refresh token is used up. Presenting a
  // used refresh token again revokes its whole session (someone holds a copy). Throws
  // kUnauthenticated.
  Tokens Refresh(const std::string& refresh_token, const RequestInfo& from);

  // Ends a session: its refresh tokens and access tokens stop working at once.
  void Logout(const std::string& session_id, const std::string& actor_id, const RequestInfo& from);

  // Turns a bearer credential (an access token or an API key) into a principal; throws
  // kUnauthenticated. Reads the user's current role and state, so a disabled user or a revoked
  // session is refused at once.
  Principal Authenticate(std::string_view credential);

  std::optional<User> FindUser(const std::string& id) const;
  std::optional<User> FindUserByEmail(const std::string& email) const;
  std::vector<User> ListUsers() const;
  // Admin actions; both refuse (kConflict) to leave the installation without an active admin.
  User SetRole(const std::string& user_id, const std::string& role, const std::string& actor_id,
               const RequestInfo& from);
  User SetDisabled(const std::string& user_id, bool disabled, const std::string& actor_id, const RequestInfo& from);

  // Creates an API key; the secret is returned once and only its hash is kept.
  std::pair<ApiKey, std::string> CreateApiKey(const std::string& user_id, const std::string& name,
                                              const std::string& scope, const RequestInfo& from);
  // The user's keys, or every key when `user_id` is empty.
  std::vector<ApiKey> ListApiKeys(const std::string& user_id) const;
  std::optional<ApiKey> FindApiKey(const std::string& id) const;
  void RevokeApiKey(const std::string& id, const std::string& actor_id, const RequestInfo& from);

  const AuthOptions& options() const { return options_; }

 private:
  Tokens IssueTokens(const User& user, const std::string& session_id, store::Tx& tx);
  void CheckStillAnAdmin(store::Tx& tx, const std::string& changing_user_id);

  store::Store& store_;
  const core::Clock& clock_;
  AuditLog& audit_;
  AuthOptions options_;
  std::string dummy_hash_;  // verified against when the email is unknown, to spend equal time
};

// Lower-cases and checks an email address; throws kValidation.
std::string NormalizeEmail(const std::string& email);

}  // namespace playground::auth
