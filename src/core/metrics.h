// The process-wide Prometheus registry (prometheus-cpp) and the text exposition of /metrics.
//
// Modules register their families here once (metric names are defined where they are
// registered, nowhere else) and keep references to them; prometheus-cpp metrics are safe for
// concurrent use. Serialize() adds the process metrics (resident memory, start time, uptime).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace playground::core {

// Safe for concurrent use.
class Metrics {
 public:
  static Metrics& Global();

  prometheus::Registry& registry() { return *registry_; }

  // The whole registry in Prometheus text format 0.0.4, process metrics refreshed first.
  std::string Serialize();

  // Latency buckets in seconds, shared by every duration histogram of request-like work.
  static const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

 private:
  Metrics();
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge& resident_memory_;
  prometheus::Gauge& start_time_;
  prometheus::Gauge& uptime_;
};

// Resident set size of this process in bytes (from /proc/self/statm); 0 if unknown.
int64_t ResidentMemoryBytes();

// Seconds since the process started (steady clock).
double UptimeSeconds();

}  // namespace playground::core
