// Read-only sharing: an owner (or an admin) grants another account the right to read one
// resource (a dataset, later a model). Shares are rows of the `shares` table keyed by resource
// type and id; the access check that uses them lives with the API's other policy helpers.
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace playground::auth {

struct Share {
  std::string user_id;
  std::string email;
  std::string role;
  std::string created_by;
  int64_t created_at_us = 0;
};

// Safe for concurrent use (stateless over the store).
class Shares {
 public:
  Shares(store::Store& store, const core::Clock& clock) : store_(store), clock_(clock) {}

  // Grants `user_id` read access; granting twice is not an error. Returns false when it
  // already existed.
  bool Grant(const std::string& type, const std::string& id, const std::string& user_id, const std::string& by);
  // Returns false when there was no such share.
  bool Revoke(const std::string& type, const std::string& id, const std::string& user_id);
  std::vector<Share> List(const std::string& type, const std::string& id) const;
  bool IsSharedWith(const std::string& type, const std::string& id, const std::string& user_id) const;
  // Removes every share of a resource (when it is deleted).
  void RemoveAll(const std::string& type, const std::string& id);

 private:
  store::Store& store_;
  const core::Clock& clock_;
};

}  // namespace playground::auth
