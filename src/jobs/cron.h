// Cron expressions: the 5-field syntax of crontab(5) (minute hour day-of-month month
// day-of-week) evaluated in an IANA time zone from the system's tz database.
//
// Written by hand because Debian 12 packages no C++ cron library and libstdc++ 12 has no
// std::chrono time zones; the zones come from the `date` library (libhowardhinnant-date-dev),
// which reads /usr/share/zoneinfo. Supported: `*`, numbers, ranges `a-b`, steps `*/n` and
// `a-b/n`, lists `a,b`, month and weekday names (jan..dec, sun..sat), 7 for Sunday. As in
// Vixie cron, when both day fields are restricted a day matching either fires. A local time
// skipped by a daylight-saving change does not fire; one repeated fires once (the first time).
#pragma once

#include <bitset>
#include <chrono>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}  // namespace date

namespace playground::jobs {

// Thread-compatible value type (immutable after Parse; Next is const and safe for concurrent use).
class CronSchedule {
 public:
  // Throws core::Error(kValidation) naming the bad field, or an unknown time zone.
  static CronSchedule Parse(std::string_view expression, std::string_view time_zone);

  // The first firing time strictly after `after`. Throws core::Error(kValidation) when the
  // expression never fires within five years (e.g. 30 February).
  std::chrono::system_clock::time_point Next(std::chrono::system_clock::time_point after) const;

 private:
  std::bitset<60> minute_;
  std::bitset<24> hour_;
  std::bitset<32> day_;     // 1..31
  std::bitset<13> month_;   // 1..12
  std::bitset<7> weekday_;  // 0 = Sunday
  bool day_restricted_ = false;
  bool weekday_restricted_ = false;
  const date::time_zone* zone_ = nullptr;
};

}  // namespace playground::jobs
