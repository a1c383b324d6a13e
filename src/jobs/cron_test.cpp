#include "jobs/cron.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include "core/error.h"

namespace playground::jobs {
namespace {

using std::chrono::system_clock;

system_clock::time_point Utc(int y, unsigned mo, unsigned d, int h, int mi) {
  return date::sys_days(date::year(y) / mo / d) + std::chrono::hours(h) + std::chrono::minutes(mi);
}

std::string Fmt(system_clock::time_point t) {
  return date::format("%F %R", std::chrono::floor<std::chrono::minutes>(t));
}

std::string NextUtc(const char* expr, system_clock::time_point after, const char* tz = "UTC") {
  return Fmt(CronSchedule::Parse(expr, tz).Next(after));
}

TEST(CronTest, FieldsRangesStepsListsAndNames) {
  auto t = Utc(2026, 11, 23, 8, 47);  // a Monday
  EXPECT_EQ(NextUtc("* * * * *", t), "2026-11-23 08:48");
  EXPECT_EQ(NextUtc("*/15 * * * *", t), "2026-11-23 09:00");
  EXPECT_EQ(NextUtc("5,50 8 * * *", t), "2026-11-23 08:50");
  EXPECT_EQ(NextUtc("0 9-17/4 * * *", t), "2026-11-23 09:00");
  EXPECT_EQ(NextUtc("0 0 1 jan *", t), "2027-01-01 00:00");
  EXPECT_EQ(NextUtc("30 6 * * sat", t), "2026-11-28 06:30");
  EXPECT_EQ(NextUtc("30 6 * * 7", t), "2026-11-29 06:30");  // 7 is Sunday too
  EXPECT_EQ(NextUtc("0 0 29 2 *", t), "2028-02-29 00:00");
  // Both day fields restricted: either matches (the 1st, or a Friday).
  EXPECT_EQ(NextUtc("0 12 1 * fri", t), "2026-11-27 12:00");
  // Strictly after: an exact match is not returned again.
  EXPECT_EQ(NextUtc("48 8 * * *", Utc(2026, 11, 23, 8, 48)), "2026-11-24 08:48");
}

TEST(CronTest, EvaluatesInTheTimeZoneAcrossDaylightSavingChanges) {
  // 09:00 in Paris is 08:00 UTC in winter.
  EXPECT_EQ(NextUtc("0 9 * * *", Utc(2026, 11, 23, 8, 47), "Europe/Paris"), "2026-11-24 08:00");
  // 2026-03-29: Paris skips 02:00-03:00, so 02:30 does not exist that day and does not fire.
  EXPECT_EQ(NextUtc("30 2 * * *", Utc(2026, 3, 28, 12, 0), "Europe/Paris"), "2026-03-30 00:30");
  // 2026-10-25: 02:30 happens twice; it fires once, the first time (00:30 UTC).
  auto c = CronSchedule::Parse("30 2 * * *", "Europe/Paris");
  auto first = c.Next(Utc(2026, 10, 24, 12, 0));
  EXPECT_EQ(Fmt(first), "2026-10-25 00:30");
  EXPECT_EQ(Fmt(c.Next(first)), "2026-10-26 01:30");
}

TEST(CronTest, RejectsWhatItCannotRunWithAReason) {
  auto message = [](const char* expr, const char* tz = "UTC") {
    try {
      CronSchedule::Parse(expr, tz);
    } catch (const core::Error& e) {
      EXPECT_EQ(e.code(), core::ErrorCode::kValidation);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("* * * *").find("5 fields"), std::string::npos);
  EXPECT_NE(message("60 * * * *").find("minute"), std::string::npos);
  EXPECT_NE(message("* 5-2 * * *").find("backwards"), std::string::npos);
  EXPECT_NE(message("*/0 * * * *").find("step"), std::string::npos);
  EXPECT_NE(message("* * * foo *").find("month"), std::string::npos);
  EXPECT_NE(message("0 0 30 2 *").find("never"), std::string::npos);
  EXPECT_NE(message("* * * * *", "Mars/Olympus").find("time zone"), std::string::npos);
}

}  // namespace
}  // namespace playground::jobs
