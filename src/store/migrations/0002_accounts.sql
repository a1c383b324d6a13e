-- Accounts: users, their sign-in sessions and rotating refresh tokens, API keys, read-only
-- shares, and the audit log. Times are microseconds since the Unix epoch.
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,          -- lower-cased
  password_hash TEXT NOT NULL,         -- argon2id, PHC string with its parameters
  role TEXT NOT NULL,                  -- admin | member | viewer
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- One row per sign-in; access tokens carry its id (sid), so revoking it ends them at once.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_reason TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Refresh tokens of a session (its "family"); each is used once and replaced.
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,         -- SHA-256 of the opaque token
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,       -- SHA-256 of the key
  key_prefix TEXT NOT NULL,            -- the first characters, to recognise a key in a list
  scope TEXT NOT NULL,                 -- predict | read | full
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX api_keys_user ON api_keys(user_id);

-- Read-only access to one resource for one other user.
CREATE TABLE shares (
  resource_type TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (resource_type, resource_id, user_id)
);

CREATE TABLE audit_log (
  id TEXT PRIMARY KEY,
  at BIGINT NOT NULL,                  -- (at, id) orders entries and is the paging cursor
  action TEXT NOT NULL,                -- login, login_failed, refresh_reuse, permission_denied, ...
  actor_id TEXT,                       -- the user who acted, if known
  target TEXT,                         -- what it acted on (a user id, a key id, an email)
  ip TEXT,
  request_id TEXT,
  detail TEXT                          -- JSON object; never a password or token
);
CREATE INDEX audit_log_at ON audit_log(at, id);
