#include "core/metrics.h"

#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace playground::core {
namespace {

const auto kProcessStart = std::chrono::steady_clock::now();
const auto kProcessStartWall = std::chrono::system_clock::now();

}  // namespace

int64_t ResidentMemoryBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long size = 0, resident = 0;
  int n = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

double UptimeSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - kProcessStart).count();
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      resident_memory_(prometheus::BuildGauge()
                           .Name("process_resident_memory_bytes")
                           .Help("Resident memory size in bytes.")
                           .Register(*registry_)
                           .Add({})),
      start_time_(prometheus::BuildGauge()
                      .Name("process_start_time_seconds")
                      .Help("Start time of the process since unix epoch in seconds.")
                      .Register(*registry_)
                      .Add({})),
      uptime_(prometheus::BuildGauge()
                  .Name("playground_uptime_seconds")
                  .Help("Seconds since this process started.")
                  .Register(*registry_)
                  .Add({})) {
  start_time_.Set(std::chrono::duration<double>(kProcessStartWall.time_since_epoch()).count());
}

Metrics& Metrics::Global() {
  static Metrics* metrics = new Metrics();  // never destroyed: used from threads until exit
  return *metrics;
}

std::string Metrics::Serialize() {
  resident_memory_.Set(static_cast<double>(ResidentMemoryBytes()));
  uptime_.Set(UptimeSeconds());
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

const prometheus::Histogram::BucketBoundaries& Metrics::LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return buckets;
}

}  // namespace playground::core
