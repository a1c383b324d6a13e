// The SQLite backend of store::Store (private to the store module; callers use OpenStore()).
//
// A small pool of connections to one database file in WAL mode, so readers never wait for the
// writer; write transactions take the lock at BEGIN (BEGIN IMMEDIATE) and wait for it up to the
// busy timeout.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace playground::store::internal {

// Opens (creating if needed) the database file at `path` (":memory:" for a private in-memory
// database, which forces a single connection) and checks one connection at once.
std::unique_ptr<Store> OpenSqliteStore(const StoreOptions& options, const std::string& path);

}  // namespace playground::store::internal
