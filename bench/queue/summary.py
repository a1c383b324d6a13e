"""Shared by both sides of bench/queue: the figures each side prints, computed the same way."""
import json
import statistics


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def report(system, jobs, enqueue_s, drain_s, start_ms, round_trip_ms, **extra):
    """Prints one JSON line: throughput is (jobs - 1) / (last finish - first finish) of a backlog."""
    out = {
        "system": system,
        "jobs": jobs,
        "enqueue_per_s": jobs / enqueue_s,
        "throughput_per_s": (jobs - 1) / drain_s,
        "latency_jobs": len(start_ms),
        "enqueue_to_start_ms_p50": statistics.median(start_ms),
        "enqueue_to_start_ms_p99": percentile(start_ms, 99),
        "round_trip_ms_p50": statistics.median(round_trip_ms),
        "round_trip_ms_p99": percentile(round_trip_ms, 99),
    }
    out.update(extra)
    print(json.dumps(out))
