// Versioned schema migrations, embedded in the binary from src/store/migrations/.
//
// One set of numbered SQL files (NNNN_name.sql) in the dialect subset both backends share; a
// file NNNN_name.postgres.sql or NNNN_name.sqlite.sql, when present, replaces it for that
// dialect. Applied versions are recorded in schema_migrations with a checksum: an applied
// migration whose file has since changed stops start-up (migrations are never edited once
// landed). Concurrent migrators are serialised (a transaction-scoped advisory lock on
// PostgreSQL, the write lock on SQLite), so several processes may start at once.
#pragma once

#include <string>
#include <vector>

#include "store/store.h"

namespace playground::store {

struct Migration {
  int version = 0;
  std::string name;
  std::string sql;       // for the store's dialect
  std::string checksum;  // SHA-256 hex of sql
};

struct MigrationStatus {
  Migration migration;
  bool applied = false;
  int64_t applied_at_us = 0;
};

// The embedded migrations for a dialect, ordered by version.
std::vector<Migration> EmbeddedMigrations(Dialect dialect);

// Applies every pending migration, each in its own transaction; returns the versions applied.
// Throws core::Error(kConflict) when an applied migration's checksum differs from the file's.
std::vector<int> Migrate(Store& store);

// Every embedded migration with whether (and when) it has been applied.
std::vector<MigrationStatus> MigrationStatuses(Store& store);

}  // namespace playground::store
