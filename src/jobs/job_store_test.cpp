// The job protocol's database transitions on both backends, with a manual clock: claims,
// idempotent completion, retries and their backoff, stale heartbeats, cancellation.
#include "jobs/job_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "store/migrate.h"
#include "store/test_backends.h"

namespace playground::jobs {
namespace {

using namespace std::chrono_literals;
using store::testing::Backend;
using store::testing::ErrorCodeOf;

TEST(BackoffTest, DoublesPerAttemptWithJitterAndACap) {
  EXPECT_EQ(BackoffDelay(1, 1000ms, 1h, 0.0), 500ms);
  EXPECT_EQ(BackoffDelay(1, 1000ms, 1h, 0.999999), 999ms);
  EXPECT_EQ(BackoffDelay(2, 1000ms, 1h, 0.0), 1000ms);
  EXPECT_EQ(BackoffDelay(4, 1000ms, 1h, 1.0), 8000ms);
  EXPECT_EQ(BackoffDelay(40, 1000ms, 60s, 1.0), 60s);  // capped, no overflow
  EXPECT_EQ(BackoffDelay(40, 1000ms, 60s, 0.0), 30s);
}

class JobStoreTest : public store::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    db_ = Open(8);
    store::Migrate(*db_);
    jobs_ = std::make_unique<JobStore>(*db_, clock_);
  }
  Job NewQueued(int max_attempts = 3) { return jobs_->Insert({"sleep", "owner-1", "", {{"ms", 1}}, max_attempts}); }

  core::ManualClock clock_{std::chrono::system_clock::time_point(std::chrono::hours(24 * 365 * 50))};
  std::unique_ptr<store::Store> db_;
  std::unique_ptr<JobStore> jobs_;
};

TEST_P(JobStoreTest, OnlyOneOfManyConcurrentClaimsWins) {
  Job job = NewQueued();
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      if (jobs_->Claim(job.id, "w" + std::to_string(i))) ++won;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  Job after = *jobs_->Get(job.id);
  EXPECT_EQ(after.state, JobState::kRunning);
  EXPECT_EQ(after.attempt, 1);
  EXPECT_FALSE(after.worker_id.empty());
}

TEST_P(JobStoreTest, TheResultIsRecordedOnceEvenWhenTwoAttemptsFinish) {
  Job job = NewQueued();
  ASSERT_TRUE(jobs_->Claim(job.id, "a"));
  // Worker a goes silent; its job is handed to b.
  clock_.Advance(10s);
  EXPECT_EQ(jobs_->RequeueStale(store::ToMicros(clock_.Now()) - 5'000'000), std::vector<std::string>{job.id});
  auto second = jobs_->Claim(job.id, "b");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->attempt, 2);
  EXPECT_TRUE(jobs_->Succeed(job.id, {{"by", "b"}}));
  EXPECT_FALSE(jobs_->Succeed(job.id, {{"by", "a"}}));  // a wakes up and finishes too
  Job done = *jobs_->Get(job.id);
  EXPECT_EQ(done.state, JobState::kSucceeded);
  EXPECT_EQ(done.result["by"], "b");
  // A late failure of the first attempt changes nothing either.
  EXPECT_EQ(jobs_->Fail(job.id, 1, "late", true, 1s), JobStore::FailOutcome::kIgnored);
  EXPECT_EQ(jobs_->Get(job.id)->state, JobState::kSucceeded);
}

TEST_P(JobStoreTest, TransientFailuresWaitForTheirBackoffThenFailForGood) {
  Job job = NewQueued(2);
  ASSERT_TRUE(jobs_->Claim(job.id, "w"));
  EXPECT_EQ(jobs_->Fail(job.id, 1, "db away", true, 1500ms), JobStore::FailOutcome::kRetrying);
  Job waiting = *jobs_->Get(job.id);
  EXPECT_EQ(waiting.state, JobState::kQueued);
  EXPECT_EQ(waiting.run_after_us - store::ToMicros(clock_.Now()), 1'500'000);
  EXPECT_TRUE(jobs_->DueQueued(10).empty());
  EXPECT_FALSE(jobs_->Claim(job.id, "w"));  // not due yet
  clock_.Advance(1499ms);
  EXPECT_FALSE(jobs_->Claim(job.id, "w"));
  clock_.Advance(1ms);
  EXPECT_EQ(jobs_->DueQueued(10), std::vector<std::string>{job.id});
  auto second = jobs_->Claim(job.id, "w");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->attempt, 2);
  // The last allowed attempt fails: no more retries, the message is kept.
  EXPECT_EQ(jobs_->Fail(job.id, 2, "db still away", true, 1s), JobStore::FailOutcome::kFailed);
  Job failed = *jobs_->Get(job.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.error, "db still away");
  EXPECT_GT(failed.finished_at_us, 0);
}

TEST_P(JobStoreTest, PermanentFailuresAreNotRetriedButCanBeRetriedByHand) {
  Job job = NewQueued(3);
  ASSERT_TRUE(jobs_->Claim(job.id, "w"));
  EXPECT_EQ(jobs_->Fail(job.id, 1, "column 'price' is missing", false, 1s), JobStore::FailOutcome::kFailed);
  EXPECT_EQ(jobs_->Get(job.id)->error, "column 'price' is missing");
  Job again = jobs_->Retry(job.id);
  EXPECT_EQ(again.state, JobState::kQueued);
  EXPECT_EQ(again.attempt, 1);
  EXPECT_EQ(again.max_attempts, 4);
  EXPECT_TRUE(again.error.empty());
  EXPECT_EQ(ErrorCodeOf([&] { jobs_->Retry(job.id); }), core::ErrorCode::kConflict);  // queued now
  EXPECT_EQ(ErrorCodeOf([&] { jobs_->Retry("nope"); }), core::ErrorCode::kNotFound);
}

TEST_P(JobStoreTest, CancellingQueuedIsImmediateAndRunningIsRequested) {
  Job queued = NewQueued();
  EXPECT_EQ(jobs_->RequestCancel(queued.id).state, JobState::kCancelled);
  EXPECT_FALSE(jobs_->Claim(queued.id, "w"));

  Job running = NewQueued();
  ASSERT_TRUE(jobs_->Claim(running.id, "w"));
  Job requested = jobs_->RequestCancel(running.id);
  EXPECT_EQ(requested.state, JobState::kRunning);
  EXPECT_TRUE(requested.cancel_requested);
  EXPECT_EQ(jobs_->Heartbeat("w"), std::vector<std::string>{running.id});  // the worker learns of it
  EXPECT_TRUE(jobs_->MarkCancelled(running.id, 1));
  EXPECT_EQ(ErrorCodeOf([&] { jobs_->RequestCancel(running.id); }), core::ErrorCode::kConflict);
}

TEST_P(JobStoreTest, HeartbeatsKeepAJobAndSilenceLosesIt) {
  Job job = NewQueued(1);
  ASSERT_TRUE(jobs_->Claim(job.id, "w"));
  clock_.Advance(4s);
  jobs_->Heartbeat("w");
  clock_.Advance(4s);
  int64_t stale_before = store::ToMicros(clock_.Now()) - 5'000'000;
  EXPECT_TRUE(jobs_->RequeueStale(stale_before).empty());  // heard from 4 s ago
  clock_.Advance(2s);
  // Its only attempt is spent: it fails rather than looping on a job that kills its workers.
  EXPECT_TRUE(jobs_->RequeueStale(store::ToMicros(clock_.Now()) - 5'000'000).empty());
  Job failed = *jobs_->Get(job.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_NE(failed.error.find("stopped responding"), std::string::npos);
}

TEST_P(JobStoreTest, ClaimsAndCompletesSeveralJobsAtOnceAndEachOnlyOnce) {
  Job a = NewQueued();
  Job b = NewQueued();
  Job cancelled = NewQueued();
  Job taken = NewQueued();
  jobs_->RequestCancel(cancelled.id);
  ASSERT_TRUE(jobs_->Claim(taken.id, "other"));
  auto claimed = jobs_->ClaimMany({a.id, cancelled.id, b.id, taken.id, "no-such-job"}, "w");
  std::set<std::string> ids;
  for (const Job& j : claimed) {
    ids.insert(j.id);
    EXPECT_EQ(j.state, JobState::kRunning);
    EXPECT_EQ(j.attempt, 1);
    EXPECT_EQ(j.worker_id, "w");
  }
  EXPECT_EQ(ids, (std::set<std::string>{a.id, b.id}));
  EXPECT_TRUE(jobs_->ClaimMany({a.id, b.id}, "w2").empty());  // already running
  EXPECT_TRUE(jobs_->ClaimMany({}, "w").empty());

  // b is also finished by another attempt first: only a's and taken's results are new.
  EXPECT_TRUE(jobs_->Succeed(b.id, {{"by", "first"}}));
  auto recorded = jobs_->SucceedMany({{a.id, {{"n", 1}}}, {b.id, {{"n", 2}}}, {taken.id, nullptr}});
  EXPECT_EQ(recorded, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(jobs_->Get(a.id)->result["n"], 1);
  EXPECT_EQ(jobs_->Get(b.id)->result["by"], "first");
  EXPECT_EQ(jobs_->Get(taken.id)->state, JobState::kSucceeded);
  EXPECT_TRUE(jobs_->Get(taken.id)->result.is_null());
}

TEST_P(JobStoreTest, AReleasedJobThatWasAskedToStopEndsCancelled) {
  Job job = NewQueued();
  ASSERT_TRUE(jobs_->Claim(job.id, "w"));
  jobs_->RequestCancel(job.id);  // running: only flagged
  EXPECT_EQ(jobs_->Release(job.id, 1), JobState::kCancelled);
  Job after = *jobs_->Get(job.id);
  EXPECT_EQ(after.state, JobState::kCancelled);
  EXPECT_GT(after.finished_at_us, 0);
  EXPECT_FALSE(jobs_->Release(job.id, 1));  // no longer running
}

TEST_P(JobStoreTest, ReleaseOnShutdownDoesNotSpendAnAttempt) {
  Job job = NewQueued(1);
  ASSERT_TRUE(jobs_->Claim(job.id, "w"));
  EXPECT_EQ(jobs_->Release(job.id, 1), JobState::kQueued);
  Job back = *jobs_->Get(job.id);
  EXPECT_EQ(back.state, JobState::kQueued);
  EXPECT_EQ(back.attempt, 0);
  EXPECT_TRUE(jobs_->Claim(job.id, "other"));
}

TEST_P(JobStoreTest, ListsNewestFirstWithFiltersAndCursors) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(jobs_->Insert({i % 2 ? "noop" : "sleep", i < 4 ? "alice" : "bob", "", {}, 1}).id);
    clock_.Advance(1ms);
  }
  JobPage first = jobs_->List({"alice", std::nullopt, "", 2, ""});
  ASSERT_EQ(first.items.size(), 2u);
  EXPECT_EQ(first.items[0].id, ids[3]);
  EXPECT_EQ(first.items[1].id, ids[2]);
  JobPage second = jobs_->List({"alice", std::nullopt, "", 2, first.next_cursor});
  ASSERT_EQ(second.items.size(), 2u);
  EXPECT_EQ(second.items[1].id, ids[0]);
  EXPECT_TRUE(second.next_cursor.empty());
  EXPECT_EQ(jobs_->List({"", std::nullopt, "noop", 50, ""}).items.size(), 2u);
  EXPECT_EQ(jobs_->List({"", JobState::kQueued, "", 50, ""}).items.size(), 5u);
  EXPECT_EQ(jobs_->CountQueued(), 5);
  EXPECT_EQ(ErrorCodeOf([&] { jobs_->List({"", std::nullopt, "", 2, "garbage"}); }), core::ErrorCode::kValidation);
}

INSTANTIATE_TEST_SUITE_P(Backends, JobStoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         store::testing::BackendName);

}  // namespace
}  // namespace playground::jobs
