// Internal to the jobs module: how job ids travel from whoever enqueues to the worker threads.
// A broker carries ids only; the database says what a job is and whether it may run, so a
// broker may lose, repeat or reorder deliveries without harm (docs/jobs.md).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"

namespace playground::jobs {

struct Delivery {
  std::string job_id;
  std::string tag;  // the broker's handle for Ack (a stream entry id); may be empty
};

// Safe for concurrent use.
class Broker {
 public:
  virtual ~Broker() = default;
  // Makes the job available to workers. Throws core::Error(kUnavailable) when the broker cannot
  // be reached (the caller logs it; maintenance publishes the job again).
  virtual void Publish(const std::vector<std::string>& job_ids) = 0;
  // The next deliveries for `consumer`, at most `max` (at least 1), oldest first, waiting at most
  // `wait` for the first; empty when there is none yet. Throws core::Error(kUnavailable) when
  // the broker cannot be reached.
  virtual std::vector<Delivery> Next(const std::string& consumer, std::chrono::milliseconds wait, size_t max) = 0;
  // The deliveries are dealt with (run, or found not runnable); they are not delivered again.
  virtual void Ack(const std::vector<Delivery>& deliveries) = 0;
  // Periodic: `due` holds every queued job that may start now; publishes those the broker does
  // not hold, and (when `consumer` is not empty) takes over deliveries that another consumer
  // received but has not acknowledged for `stale_after`.
  virtual void Maintain(const std::vector<std::string>& due, const std::string& consumer,
                        std::chrono::milliseconds stale_after) = 0;
  // Wakes every thread blocked in Next (shutdown).
  virtual void WakeAll() = 0;
};

// In-process delivery: a queue of ids in memory with a condition variable, so a worker wakes
// the moment a job is enqueued; durability comes from the database (Maintain refills it).
std::unique_ptr<Broker> MakeMemoryBroker();

struct RedisBrokerOptions {
  std::string url;
  int pool_size = 8;  // at least the number of worker threads plus two
  std::string key_prefix = "playground:jobs:";
};
// Redis Streams: XADD to publish, one consumer group read with XREADGROUP, XACK when done,
// XAUTOCLAIM to take over a dead consumer's deliveries, and a set of published ids so that
// re-publishing never puts a job in the stream twice.
std::unique_ptr<Broker> MakeRedisBroker(const RedisBrokerOptions& options);

}  // namespace playground::jobs
