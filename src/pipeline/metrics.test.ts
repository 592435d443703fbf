import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

describe('Metrics', () => {
  it('renders counters, gauges and histograms in Prometheus text format', () => {
    const m = new Metrics();
    m.inc('events_stored', {}, 3);
    m.inc('events_dead_lettered', { reason: 'invalid_json' });
    m.set('sink_healthy', 1, { sink: 'webhook:example.com/hook' });
    for (const s of [0.003, 0.04, 0.3, 0.3, 1.5]) m.histogram('latency_seconds', s);
    const text = m.prometheus();
    expect(text).toContain('recur_events_stored_total 3');
    expect(text).toContain('recur_events_dead_lettered_total{reason="invalid_json"} 1');
    expect(text).toContain('recur_sink_healthy{sink="webhook:example.com/hook"} 1');
    expect(text).toContain('recur_latency_seconds_bucket{le="0.005"} 1');
    expect(text).toContain('recur_latency_seconds_bucket{le="+Inf"} 5');
    expect(text).toContain('recur_latency_seconds_count 5');
  });

  it("reports the process's CPU and memory under the standard Prometheus names", () => {
    const text = new Metrics().prometheus();
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const rss = value('process_resident_memory_bytes');
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(value('recur_peak_resident_memory_bytes')).toBeGreaterThanOrEqual(rss * 0.9);
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(text).toContain('# TYPE process_resident_memory_bytes gauge');
    expect(value('process_cpu_seconds_total')).toBeCloseTo(value('process_cpu_user_seconds_total') + value('process_cpu_system_seconds_total'), 5);
    expect(value('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value('nodejs_heap_size_used_bytes')).toBeLessThanOrEqual(value('nodejs_heap_size_total_bytes'));
    expect(Math.abs(value('process_start_time_seconds') - (Date.now() / 1000 - process.uptime()))).toBeLessThan(5);
  });

  it('estimates quantiles from histogram buckets', () => {
    const m = new Metrics();
    for (let i = 0; i < 100; i++) m.histogram('lat', i < 90 ? 0.07 : 1.5);
    expect(m.quantile('lat', 0.5)).toBeGreaterThan(0.05);
    expect(m.quantile('lat', 0.5)).toBeLessThanOrEqual(0.1);
    expect(m.quantile('lat', 0.99)).toBeGreaterThan(1);
    expect(m.quantile('lat', 0.99)).toBeLessThanOrEqual(2);
    expect(m.quantile('none', 0.5)).toBeNull();
  });
});
