import { describe, expect, it } from 'vitest';
import { systemFigures } from '../pages/Admin';
import { byLabel, parsePrometheus, total } from './prometheus';

// Lines in the form /metrics answers with (prometheus-cpp's text serializer).
const TEXT = `# HELP jobs_total Jobs that entered each state
# TYPE jobs_total counter
jobs_total{state="succeeded",type="train_model"} 3
jobs_total{state="failed",type="train_model"} 1
jobs_total{state="succeeded",type="noop"} 2
queue_depth 4
http_request_duration_seconds_sum{method="GET",route="/health"} 0.5
http_request_duration_seconds_count{method="GET",route="/health"} 100
http_requests_total{method="GET",route="/a \\"b\\"",status="200"} 7
process_resident_memory_bytes 1.5e+08
`;

describe('parsePrometheus', () => {
  const samples = parsePrometheus(TEXT);

  it('reads names, labels (with escapes) and values, and skips comments', () => {
    expect(samples).toHaveLength(8);
    expect(samples[0]).toEqual({ name: 'jobs_total', labels: { state: 'succeeded', type: 'train_model' }, value: 3 });
    expect(samples.find((s) => s.name === 'http_requests_total')?.labels.route).toBe('/a "b"');
    expect(total(samples, 'process_resident_memory_bytes')).toBe(1.5e8);
  });

  it('sums by name, by matching labels, and groups by a label', () => {
    expect(total(samples, 'jobs_total')).toBe(6);
    expect(total(samples, 'jobs_total', { state: 'succeeded' })).toBe(5);
    expect(byLabel(samples, 'jobs_total', 'state')).toEqual({ succeeded: 5, failed: 1 });
    expect(total(samples, 'missing_metric')).toBe(0);
  });
});

describe('systemFigures', () => {
  it('derives the queue, mean latency and, from two readings, the rates', () => {
    const before = { at: 0, samples: parsePrometheus(TEXT) };
    const later = TEXT.replace('jobs_total{state="failed",type="train_model"} 1', 'jobs_total{state="failed",type="train_model"} 4')
      .replace('_count{method="GET",route="/health"} 100', '_count{method="GET",route="/health"} 150')
      .replace('_sum{method="GET",route="/health"} 0.5', '_sum{method="GET",route="/health"} 1.0')
      .replace('status="200"} 7', 'status="200"} 17');
    const f = systemFigures({ at: 5000, samples: parsePrometheus(later) }, before);
    expect(f.queueDepth).toBe(4);
    expect(f.meanLatencyMs).toBeCloseTo((1000 * 1.0) / 150);
    expect(f.requestRate).toBeCloseTo(10 / 5);
    expect(f.jobRate).toBeCloseTo((3 / 5) * 60); // three more failures in 5 s
    expect(f.recentLatencyMs).toBeCloseTo((1000 * 0.5) / 50);
  });

  it('has no rates from a single reading', () => {
    const f = systemFigures({ at: 1, samples: parsePrometheus(TEXT) }, null);
    expect(f.requestRate).toBeNull();
    expect(f.jobRate).toBeNull();
  });
});
