// The audit log: security-relevant events (sign-ins and failures, refresh-token reuse,
// permission denials, role changes, key creation and revocation, admin actions), stored in the
// database and readable by admins. Entries never hold a password or a token.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace playground::auth {

struct AuditEntry {
  std::string id;
  int64_t at_us = 0;
  std::string action;
  std::string actor_id;
  std::string target;
  std::string ip;
  std::string request_id;
  nlohmann::json detail = nlohmann::json::object();
};

// Where an event came from, passed down from the request.
struct RequestInfo {
  std::string ip;
  std::string request_id;
};

struct AuditPage {
  std::vector<AuditEntry> entries;  // newest first
  std::string next_cursor;          // empty on the last page
};

// Safe for concurrent use (stateless over the store).
class AuditLog {
 public:
  AuditLog(store::Store& store, const core::Clock& clock) : store_(store), clock_(clock) {}

  // Records an event. Failures to write are logged, never thrown: auditing must not turn a
  // successful action into an error.
  void Record(std::string_view action, std::string_view actor_id, std::string_view target, const RequestInfo& from,
              const nlohmann::json& detail = nlohmann::json::object());

  // A page of entries, newest first, optionally only one action. `cursor` comes from the
  // previous page. Throws core::Error(kInvalidArgument) for a malformed cursor.
  AuditPage List(int limit, const std::string& cursor, const std::string& action = "") const;

 private:
  store::Store& store_;
  const core::Clock& clock_;
};

}  // namespace playground::auth
