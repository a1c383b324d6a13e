// Schedules on both database backends with a manual clock: two schedulers with their own
// connection pools (as two processes) fire each period once, a missed run fires once, pausing
// stops firing, and a silent lease holder is replaced.
#include "jobs/scheduler.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/migrate.h"
#include "store/test_backends.h"

namespace playground::jobs {
namespace {

using namespace std::chrono_literals;
using store::testing::Backend;

class SchedulerTest : public store::testing::BackendTest {
 protected:
  // One "process": its own store, queue (no workers) and scheduler over the shared database.
  struct Process {
    std::unique_ptr<store::Store> db;
    std::unique_ptr<JobQueue> queue;
    std::unique_ptr<Scheduler> scheduler;
  };

  void SetUp() override {
    BackendTest::SetUp();
    RegisterBuiltinTasks(tasks_);
    for (auto& p : processes_) {
      p.db = Open(4);
      store::Migrate(*p.db);
      p.queue = MakeJobQueue(QueueOptions{}, *p.db, tasks_, clock_);
      p.scheduler = std::make_unique<Scheduler>(*p.queue, *p.db, clock_, 5s);
    }
  }

  int64_t JobsOf(const std::string& schedule_id) {
    return processes_[0].db->Query("SELECT COUNT(*) FROM jobs WHERE schedule_id = ?", {schedule_id}).rows.at(0).Int(0);
  }

  // Both processes tick at the same time.
  int TickBoth() {
    std::atomic<int> fired{0};
    std::thread a([&] { fired += processes_[0].scheduler->Tick(); });
    std::thread b([&] { fired += processes_[1].scheduler->Tick(); });
    a.join();
    b.join();
    return fired;
  }

  // 2026-11-23 08:00:30 UTC.
  core::ManualClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(1795420830))};
  TaskRegistry tasks_;
  Process processes_[2];
};

TEST_P(SchedulerTest, TwoProcessesFireEachPeriodOnce) {
  Schedule s = processes_[0].scheduler->Create({"owner", "every minute", "* * * * *", "UTC", "noop", {}, 0});
  EXPECT_EQ(TickBoth(), 0);  // not due yet
  for (int minute = 1; minute <= 5; ++minute) {
    clock_.Advance(60s);
    EXPECT_EQ(TickBoth(), 1) << "minute " << minute;
    EXPECT_EQ(TickBoth(), 0) << "minute " << minute;  // ticking again in the same period fires nothing
  }
  EXPECT_EQ(JobsOf(s.id), 5);
  Schedule after = *processes_[1].scheduler->Get(s.id);
  EXPECT_FALSE(after.last_job_id.empty());
  EXPECT_EQ(processes_[0].queue->jobs().Get(after.last_job_id)->schedule_id, s.id);
}

TEST_P(SchedulerTest, ARunMissedDuringDowntimeFiresOnceOnStart) {
  Schedule s = processes_[0].scheduler->Create({"owner", "hourly", "0 * * * *", "UTC", "noop", {}, 0});
  clock_.Advance(10h);  // ten periods pass with nothing running
  EXPECT_EQ(processes_[1].scheduler->Tick(), 1);
  EXPECT_EQ(processes_[1].scheduler->Tick(), 0);
  EXPECT_EQ(JobsOf(s.id), 1);
  Schedule after = *processes_[0].scheduler->Get(s.id);
  EXPECT_EQ(after.next_run_at_us, store::ToMicros(clock_.Now()) + (59 * 60 + 30) * 1'000'000LL);  // next hour
}

TEST_P(SchedulerTest, PausedSchedulesDoNotFireAndResumeFromNow) {
  Scheduler& sched = *processes_[0].scheduler;
  Schedule s = sched.Create({"owner", "p", "* * * * *", "UTC", "noop", {}, 0});
  EXPECT_TRUE(sched.SetPaused(s.id, true).paused);
  clock_.Advance(5min);
  EXPECT_EQ(sched.Tick(), 0);
  Schedule resumed = sched.SetPaused(s.id, false);
  EXPECT_GT(resumed.next_run_at_us, store::ToMicros(clock_.Now()));
  EXPECT_EQ(sched.Tick(), 0);
  EXPECT_EQ(JobsOf(s.id), 0);
  sched.Delete(s.id);
  EXPECT_FALSE(sched.Get(s.id));
}

TEST_P(SchedulerTest, ASilentLeaseHolderIsReplaced) {
  Schedule s = processes_[0].scheduler->Create({"owner", "m", "* * * * *", "UTC", "noop", {}, 0});
  clock_.Advance(60s);
  EXPECT_EQ(processes_[0].scheduler->Tick(), 1);  // process 0 holds the lease
  clock_.Advance(2s);
  EXPECT_EQ(processes_[1].scheduler->Tick(), 0);  // held for 5 s
  clock_.Advance(60s);                            // process 0 has gone quiet
  EXPECT_EQ(processes_[1].scheduler->Tick(), 1);
  EXPECT_EQ(JobsOf(s.id), 2);
}

TEST_P(SchedulerTest, RejectsBadTemplates) {
  Scheduler& sched = *processes_[0].scheduler;
  EXPECT_THROW(sched.Create({"owner", "x", "* * *", "UTC", "noop", {}, 0}), core::Error);
  EXPECT_THROW(sched.Create({"owner", "x", "* * * * *", "Nowhere/City", "noop", {}, 0}), core::Error);
  EXPECT_THROW(sched.Create({"owner", "x", "* * * * *", "UTC", "unknown-type", {}, 0}), core::Error);
  EXPECT_THROW(sched.Create({"owner", "x", "* * * * *", "UTC", "sleep", {{"ms", -1}}, 0}), core::Error);
}

INSTANTIATE_TEST_SUITE_P(Backends, SchedulerTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         store::testing::BackendName);

}  // namespace
}  // namespace playground::jobs
