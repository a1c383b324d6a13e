// The PostgreSQL backend of store::Store over libpq (private to the store module; callers use
// OpenStore()).
//
// Written to work through PgBouncer in transaction mode: only unnamed statements
// (PQexecParams), no session state and no session-level advisory locks.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "store/store.h"

namespace playground::store::internal {

// Connects once at start (throwing kUnavailable with the redacted URL on failure) and then
// lazily up to options.pool_size connections.
std::unique_ptr<Store> OpenPostgresStore(const StoreOptions& options);

// Rewrites `?` placeholders to $1, $2, ... in order, leaving alone those inside string literals
// ('...', E'...', $tag$...$tag$), quoted identifiers ("...") and comments (-- and /* */).
// Sets *count to the number of placeholders found.
std::string RewritePlaceholders(std::string_view sql, int* count);

}  // namespace playground::store::internal
