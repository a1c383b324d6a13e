#include "auth/audit.h"

#include "core/error.h"
#include "core/log.h"
#include "core/random.h"

namespace playground::auth {

void AuditLog::Record(std::string_view action, std::string_view actor_id, std::string_view target,
                      const RequestInfo& from, const nlohmann::json& detail) {
  try {
    auto null_if_empty = [](std::string_view v) -> store::Value {
      if (v.empty()) return nullptr;
      return std::string(v);
    };
    store_.Exec(
        "INSERT INTO audit_log (id, at, action, actor_id, target, ip, request_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {core::NewUuid(), store::ToMicros(clock_.Now()), std::string(action), null_if_empty(actor_id),
         null_if_empty(target), null_if_empty(from.ip), null_if_empty(from.request_id), detail.dump()});
  } catch (const std::exception& e) {
    core::LogError("audit write failed", {{"action", action}, {"error", e.what()}});
  }
}

AuditPage AuditLog::List(int limit, const std::string& cursor, const std::string& action) const {
  std::string sql = "SELECT id, at, action, actor_id, target, ip, request_id, detail FROM audit_log WHERE 1 = 1";
  store::Params params;
  if (!action.empty()) {
    sql += " AND action = ?";
    params.emplace_back(action);
  }
  if (!cursor.empty()) {
    // The cursor is "<at>.<id>" of the last entry of the previous page.
    auto dot = cursor.find('.');
    int64_t at = 0;
    try {
      if (dot == std::string::npos) throw std::invalid_argument("no dot");
      at = std::stoll(cursor.substr(0, dot));
    } catch (const std::exception&) {
      core::Fail(core::ErrorCode::kInvalidArgument, "the cursor is malformed; pass next_cursor from the last page");
    }
    sql += " AND (at < ? OR (at = ? AND id < ?))";
    params.emplace_back(at);
    params.emplace_back(at);
    params.emplace_back(cursor.substr(dot + 1));
  }
  sql += " ORDER BY at DESC, id DESC LIMIT ?";
  params.emplace_back(static_cast<int64_t>(limit) + 1);
  auto result = store_.Query(sql, params);
  AuditPage page;
  for (const auto& row : result.rows) {
    if (static_cast<int>(page.entries.size()) == limit) break;
    AuditEntry e;
    e.id = row.Text(0);
    e.at_us = row.Int(1);
    e.action = row.Text(2);
    e.actor_id = row.OptText(3).value_or("");
    e.target = row.OptText(4).value_or("");
    e.ip = row.OptText(5).value_or("");
    e.request_id = row.OptText(6).value_or("");
    e.detail = nlohmann::json::parse(row.OptText(7).value_or("{}"), nullptr, false);
    page.entries.push_back(std::move(e));
  }
  if (static_cast<int>(result.rows.size()) > limit && !page.entries.empty()) {
    const auto& last = page.entries.back();
    page.next_cursor = std::to_string(last.at_us) + "." + last.id;
  }
  return page;
}

}  // namespace playground::auth
