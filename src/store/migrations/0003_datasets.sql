-- Datasets: one row per uploaded table. The data itself lives in files under DATA_DIR
-- (datasets/<id>/): the columnar file of the current version, its profile, and the original
-- upload until it expires. A row exists only once its files are complete, so a failed upload
-- leaves no row. Times are microseconds since the Unix epoch.
CREATE TABLE datasets (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  source_format TEXT NOT NULL,        -- csv | json | ndjson
  source_name TEXT NOT NULL,          -- the uploaded file's name, or '' for a raw body
  source_bytes BIGINT NOT NULL,
  source_sha256 TEXT NOT NULL,
  delimiter TEXT NOT NULL,            -- CSV: the delimiter used; '' otherwise
  original_path TEXT,                 -- relative to DATA_DIR; NULL once removed
  original_expires_at BIGINT,
  version INTEGER NOT NULL,           -- the current data file; bumped by appends and type changes
  data_path TEXT NOT NULL,            -- relative to DATA_DIR
  profile_path TEXT NOT NULL,         -- relative to DATA_DIR
  data_bytes BIGINT NOT NULL,
  row_count BIGINT NOT NULL,
  column_count INTEGER NOT NULL,
  schema_json TEXT NOT NULL,          -- [{"name", "type"}, ...]
  timings_json TEXT NOT NULL,         -- seconds per ingestion phase
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  data_updated_at BIGINT NOT NULL     -- when rows last arrived (upload or append): freshness
);
CREATE INDEX datasets_owner_created ON datasets (owner_id, created_at);
CREATE INDEX datasets_original_expiry ON datasets (original_expires_at);
CREATE INDEX shares_user ON shares (user_id, resource_type);
