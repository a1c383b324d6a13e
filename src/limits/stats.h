// Counters shared by the limits module's interfaces (rate limiter, login backoff), for metrics,
// /health and tests. Which fields a backend fills is part of its contract.
#pragma once

#include <cstdint>

namespace playground::limits {

struct LimiterStats {
  // Memory backends: entries held now, and entries dropped to stay within the key bound while
  // they still held state (each such drop forgets a limit, so a growing number means the bound is
  // too small for the traffic).
  int64_t keys = 0;
  int64_t evictions = 0;
  // Redis backends: decisions made without Redis because it failed or was paused after a failure
  // (the request was allowed).
  int64_t fail_open = 0;
};

}  // namespace playground::limits
