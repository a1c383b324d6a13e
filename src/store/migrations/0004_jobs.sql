-- Jobs: the durable record of every background job (the source of truth; a broker only carries
-- job ids), recurring schedules that create jobs, and named leases that let one process of many
-- hold a role. Times are microseconds since the Unix epoch. docs/jobs.md describes the protocol.
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  owner_id TEXT,                       -- the user who started it; NULL for the platform's own jobs
  schedule_id TEXT,                    -- the schedule that created it, if any
  params TEXT NOT NULL,                -- JSON object
  state TEXT NOT NULL,                 -- queued | running | succeeded | failed | cancelled
  progress DOUBLE PRECISION NOT NULL DEFAULT 0,  -- 0..1
  progress_message TEXT NOT NULL DEFAULT '',
  attempt INTEGER NOT NULL DEFAULT 0,  -- attempts started so far
  max_attempts INTEGER NOT NULL,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  run_after BIGINT NOT NULL,           -- a queued job starts no earlier (retry backoff)
  started_at BIGINT,
  finished_at BIGINT,
  worker_id TEXT,                      -- the worker running it (running jobs only)
  heartbeat_at BIGINT,                 -- that worker's last sign of life
  error TEXT,
  result TEXT,                         -- JSON, written once when the job succeeds
  updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(state, run_after);
CREATE INDEX jobs_created ON jobs(created_at, id);
CREATE INDEX jobs_owner_created ON jobs(owner_id, created_at, id);
CREATE INDEX jobs_worker ON jobs(worker_id, state);

CREATE TABLE schedules (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  name TEXT NOT NULL,
  cron TEXT NOT NULL,                  -- 5 fields: minute hour day-of-month month day-of-week
  timezone TEXT NOT NULL,              -- IANA name, e.g. Europe/Paris
  job_type TEXT NOT NULL,
  params TEXT NOT NULL,                -- JSON object, the parameters of every job it creates
  max_attempts INTEGER NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  next_run_at BIGINT NOT NULL,         -- when it fires next; moved forward by whoever fires it
  last_run_at BIGINT,
  last_job_id TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX schedules_due ON schedules(paused, next_run_at);
CREATE INDEX schedules_owner ON schedules(owner_id, created_at);

CREATE TABLE leases (
  name TEXT PRIMARY KEY,               -- the role, e.g. "scheduler"
  holder TEXT NOT NULL,                -- the process holding it
  expires_at BIGINT NOT NULL
);
