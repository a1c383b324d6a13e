#include "jobs/cron.h"

#include <date/tz.h>

#include <array>
#include <charconv>
#include <vector>

#include "core/error.h"

namespace playground::jobs {
namespace {

using core::ErrorCode;
using core::Fail;

struct Field {
  const char* name;
  int min, max;
  std::vector<std::string_view> names;  // names[i] means min + i
};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

int Value(std::string_view text, const Field& f) {
  for (size_t i = 0; i < f.names.size(); ++i) {
    if (text.size() == 3 && std::tolower(static_cast<unsigned char>(text[0])) == f.names[i][0] &&
        std::tolower(static_cast<unsigned char>(text[1])) == f.names[i][1] &&
        std::tolower(static_cast<unsigned char>(text[2])) == f.names[i][2]) {
      return f.min + static_cast<int>(i);
    }
  }
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    Fail(ErrorCode::kValidation, std::string("cron: the ") + f.name + " field has '" + std::string(text) +
                                     "', which is not a number" + (f.names.empty() ? "" : " or a name"));
  }
  // Day of week 7 is Sunday, as in crontab(5).
  int max = std::string_view(f.name) == "day-of-week" ? 7 : f.max;
  if (v < f.min || v > max) {
    Fail(ErrorCode::kValidation, std::string("cron: the ") + f.name + " field allows " + std::to_string(f.min) + "-" +
                                     std::to_string(max) + ", not " + std::to_string(v));
  }
  return v;
}

// Parses one field into bits [min..max]; returns whether it was restricted (not `*`).
template <size_t N>
bool ParseField(std::string_view text, const Field& f, std::bitset<N>& bits) {
  bool restricted = text != "*" && text != "?";
  for (std::string_view item : Split(text, ',')) {
    int step = 1;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      std::string_view s = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), step);
      if (ec != std::errc() || end != s.data() + s.size() || step < 1 || step > f.max) {
        Fail(ErrorCode::kValidation,
             std::string("cron: bad step '") + std::string(s) + "' in the " + f.name + " field");
      }
      item = item.substr(0, slash);
    }
    int lo = f.min, hi = f.max;
    if (item != "*") {
      size_t dash = item.find('-');
      lo = Value(item.substr(0, dash), f);
      hi = dash == std::string_view::npos ? (step > 1 ? f.max : lo) : Value(item.substr(dash + 1), f);
      if (hi < lo) {
        Fail(ErrorCode::kValidation,
             std::string("cron: the range '") + std::string(item) + "' in the " + f.name + " field runs backwards");
      }
    }
    for (int v = lo; v <= hi; v += step) bits.set(N == 7 && v == 7 ? 0 : static_cast<size_t>(v));  // 7: Sunday
  }
  return restricted;
}

}  // namespace

CronSchedule CronSchedule::Parse(std::string_view expression, std::string_view time_zone) {
  std::vector<std::string_view> fields;
  for (std::string_view part : Split(expression, ' ')) {
    if (!part.empty()) fields.push_back(part);
  }
  if (fields.size() != 5) {
    Fail(ErrorCode::kValidation,
         "cron: expected 5 fields (minute hour day-of-month month day-of-week), got " + std::to_string(fields.size()));
  }
  static const Field kMinute{"minute", 0, 59, {}};
  static const Field kHour{"hour", 0, 23, {}};
  static const Field kDay{"day-of-month", 1, 31, {}};
  static const Field kMonth{
      "month", 1, 12, {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}};
  static const Field kWeekday{"day-of-week", 0, 6, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}};
  CronSchedule c;
  ParseField(fields[0], kMinute, c.minute_);
  ParseField(fields[1], kHour, c.hour_);
  c.day_restricted_ = ParseField(fields[2], kDay, c.day_);
  ParseField(fields[3], kMonth, c.month_);
  c.weekday_restricted_ = ParseField(fields[4], kWeekday, c.weekday_);
  try {
    c.zone_ = date::locate_zone(std::string(time_zone));
  } catch (const std::exception&) {
    Fail(ErrorCode::kValidation,
         "timezone: '" + std::string(time_zone) + "' is not a time zone of the tz database (e.g. UTC, Europe/Paris)");
  }
  c.Next(std::chrono::system_clock::now());  // rejects expressions that never fire
  return c;
}

std::chrono::system_clock::time_point CronSchedule::Next(std::chrono::system_clock::time_point after) const {
  using std::chrono::minutes;
  auto start = std::chrono::floor<minutes>(after) + minutes(1);
  date::local_time<minutes> local = std::chrono::floor<minutes>(zone_->to_local(start));
  const auto limit = local + date::years(5);
  while (local < limit) {
    date::local_days day = std::chrono::floor<date::days>(local);
    date::year_month_day ymd{day};
    if (!month_[static_cast<unsigned>(ymd.month())]) {
      date::year_month next{ymd.year(), ymd.month()};
      next += date::months(1);
      local = date::local_days(next / 1);
      continue;
    }
    bool day_ok = day_[static_cast<unsigned>(ymd.day())];
    bool weekday_ok = weekday_[date::weekday(day).c_encoding()];
    bool matches = day_restricted_ && weekday_restricted_ ? (day_ok || weekday_ok) : (day_ok && weekday_ok);
    if (!matches) {
      local = day + date::days(1);
      continue;
    }
    auto since_midnight = local - day;
    auto hour = std::chrono::duration_cast<std::chrono::hours>(since_midnight);
    if (!hour_[static_cast<size_t>(hour.count())]) {
      local = day + hour + std::chrono::hours(1);
      continue;
    }
    auto minute = std::chrono::duration_cast<minutes>(since_midnight - hour);
    if (minute_[static_cast<size_t>(minute.count())]) {
      date::local_info info = zone_->get_info(local);
      if (info.result != date::local_info::nonexistent) {
        // For a repeated local time, first.offset is the earlier occurrence's.
        auto at = date::sys_seconds(local.time_since_epoch() - info.first.offset);
        if (at > after) return at;
      }
    }
    local += minutes(1);
  }
  Fail(ErrorCode::kValidation, "cron: the expression never fires within five years");
}

}  // namespace playground::jobs
