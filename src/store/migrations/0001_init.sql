-- The installation's identity: one row, written at first start. Later features add their own
-- migrations; this file must never change once released (its checksum is recorded).
CREATE TABLE instance (
  id TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL
);
