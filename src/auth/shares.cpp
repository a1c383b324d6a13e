#include "auth/shares.h"

namespace playground::auth {

bool Shares::Grant(const std::string& type, const std::string& id, const std::string& user_id, const std::string& by) {
  bool added = false;
  store_.Transaction([&](store::Tx& tx) {
    auto existing = tx.Query("SELECT 1 FROM shares WHERE resource_type = ? AND resource_id = ? AND user_id = ?",
                             {type, id, user_id});
    if (!existing.rows.empty()) return;
    tx.Exec("INSERT INTO shares (resource_type, resource_id, user_id, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
            {type, id, user_id, by, store::ToMicros(clock_.Now())});
    added = true;
  });
  return added;
}

bool Shares::Revoke(const std::string& type, const std::string& id, const std::string& user_id) {
  return store_.Exec("DELETE FROM shares WHERE resource_type = ? AND resource_id = ? AND user_id = ?",
                     {type, id, user_id}) > 0;
}

std::vector<Share> Shares::List(const std::string& type, const std::string& id) const {
  auto r = store_.Query(
      "SELECT s.user_id, u.email, u.role, s.created_by, s.created_at FROM shares s JOIN users u ON u.id = s.user_id "
      "WHERE s.resource_type = ? AND s.resource_id = ? ORDER BY s.created_at, u.email",
      {type, id});
  std::vector<Share> out;
  for (const auto& row : r.rows) {
    out.push_back({row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Int(4)});
  }
  return out;
}

bool Shares::IsSharedWith(const std::string& type, const std::string& id, const std::string& user_id) const {
  return !store_
              .Query("SELECT 1 FROM shares WHERE resource_type = ? AND resource_id = ? AND user_id = ?",
                     {type, id, user_id})
              .rows.empty();
}

void Shares::RemoveAll(const std::string& type, const std::string& id) {
  store_.Exec("DELETE FROM shares WHERE resource_type = ? AND resource_id = ?", {type, id});
}

}  // namespace playground::auth
