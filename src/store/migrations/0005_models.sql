-- Models: saved preprocessing pipelines, trained model versions (each an immutable artifact file
-- under DATA_DIR/models/, written before its row, the format in docs/model-format.md), and the
-- evaluations stored with them. Times are microseconds since the Unix epoch; JSON is TEXT.
CREATE TABLE preprocessings (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  spec TEXT NOT NULL,                  -- the resolved pipeline spec (every default filled)
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX preprocessings_owner_created ON preprocessings (owner_id, created_at);

CREATE TABLE models (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,                  -- versions of one name are one model's history
  version INTEGER NOT NULL,            -- 1, 2, ... per owner and name
  promoted INTEGER NOT NULL DEFAULT 0, -- the version models/{name} serves (at most one per name)
  job_id TEXT NOT NULL UNIQUE,         -- the training job: a retried job stores its model once
  dataset_id TEXT NOT NULL,            -- no foreign key: a model outlives its dataset
  dataset_version INTEGER NOT NULL,
  data_fingerprint TEXT NOT NULL,      -- SHA-256 of the training rows as used
  target TEXT NOT NULL,                -- '' for clustering
  task TEXT NOT NULL,                  -- binary | multiclass | regression | clustering
  algorithm TEXT NOT NULL,
  params TEXT NOT NULL,                -- resolved algorithm parameters
  preprocessing TEXT NOT NULL,         -- resolved pipeline spec
  preprocessing_id TEXT,               -- the saved pipeline it came from, if any
  input_schema TEXT NOT NULL,
  metrics TEXT NOT NULL,               -- the test split's leaderboard metrics
  artifact_path TEXT NOT NULL,         -- relative to DATA_DIR
  artifact_bytes BIGINT NOT NULL,
  artifact_sha256 TEXT NOT NULL,
  train_rows BIGINT NOT NULL,
  test_rows BIGINT NOT NULL,
  fit_seconds DOUBLE PRECISION NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (owner_id, name, version)
);
CREATE INDEX models_owner_created ON models (owner_id, created_at);
CREATE INDEX models_dataset_target ON models (dataset_id, target);

CREATE TABLE evaluations (
  id TEXT PRIMARY KEY,
  model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,                  -- test | cross_validation
  report TEXT NOT NULL,                -- the full report (metrics, curves, confusion matrix, ...)
  created_at BIGINT NOT NULL
);
CREATE INDEX evaluations_model ON evaluations (model_id, kind);
