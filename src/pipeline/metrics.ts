/** Counters and summaries rendered in Prometheus text format on /metrics and in `recur status`. */
type Labels = Record<string, string>;

function key(name: string, labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, '_')}"`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

/**
 * Steps of 0.1 s up to 1 s and 0.25 s up to 2 s: the produce→stored target is read off these (its p99 under
 * 2 s), and a quantile is only known to within its bucket.
 */
const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 3, 5, 10, 30, 60, 300, Infinity,
];

export class Metrics {
  private readonly histograms = new Map<string, { name: string; labels: Labels; counts: number[]; sum: number; n: number }>();

  /** Prometheus-style histogram with fixed buckets (seconds). */
  histogram(name: string, seconds: number, labels: Labels = {}): void {
    const k = key(name, labels);
    let h = this.histograms.get(k);
    if (!h) {
      h = { name, labels, counts: LATENCY_BUCKETS.map(() => 0), sum: 0, n: 0 };
      this.histograms.set(k, h);
    }
    let i = 0;
    while (seconds > LATENCY_BUCKETS[i]!) i++;
    h.counts[i]!++;
    h.sum += seconds;
    h.n++;
  }

  /** Quantile estimated from the histogram (linear within a bucket), in seconds; null when empty. */
  quantile(name: string, q: number, labels: Labels = {}): number | null {
    const h = this.histograms.get(key(name, labels));
    if (!h || h.n === 0) return null;
    const target = q * h.n;
    let seen = 0;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      const c = h.counts[i]!;
      if (seen + c >= target) {
        const lo = i === 0 ? 0 : LATENCY_BUCKETS[i - 1]!;
        const hi = Number.isFinite(LATENCY_BUCKETS[i]!) ? LATENCY_BUCKETS[i]! : lo * 2;
        return lo + (hi - lo) * (c === 0 ? 0 : (target - seen) / c);
      }
      seen += c;
    }
    return null;
  }

  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, number>();

  inc(name: string, labels: Labels = {}, by = 1): void {
    const k = key(`recur_${name}_total`, labels);
    this.counters.set(k, (this.counters.get(k) ?? 0) + by);
  }

  observe(name: string, value: number, labels: Labels = {}): void {
    const c = key(`recur_${name}_count`, labels);
    const s = key(`recur_${name}_sum`, labels);
    this.gauges.set(c, (this.gauges.get(c) ?? 0) + 1);
    this.gauges.set(s, (this.gauges.get(s) ?? 0) + value);
  }

  set(name: string, value: number, labels: Labels = {}): void {
    this.gauges.set(key(`recur_${name}`, labels), value);
  }

  get(name: string, labels: Labels = {}): number {
    return this.counters.get(key(`recur_${name}_total`, labels)) ?? 0;
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of this.counters) out[k] = v;
    for (const [k, v] of this.gauges) out[k] = v;
    return out;
  }

  prometheus(): string {
    const lines = Object.entries(this.snapshot()).map(([k, v]) => `${k} ${num(v)}`);
    for (const [k, v] of Object.entries(processMetrics())) lines.push(`# TYPE ${k} ${k.endsWith('_total') ? 'counter' : 'gauge'}`, `${k} ${num(v)}`);
    for (const h of this.histograms.values()) {
      let cum = 0;
      h.counts.forEach((c, i) => {
        cum += c;
        const le = Number.isFinite(LATENCY_BUCKETS[i]!) ? String(LATENCY_BUCKETS[i]) : '+Inf';
        lines.push(`${key(`recur_${h.name}_bucket`, { ...h.labels, le })} ${cum}`);
      });
      lines.push(`${key(`recur_${h.name}_sum`, h.labels)} ${h.sum.toFixed(6)}`, `${key(`recur_${h.name}_count`, h.labels)} ${h.n}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(6);
}

const START_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

/**
 * The process's own CPU and memory, under the names Prometheus' client libraries use (prom-client's
 * defaults), so stock dashboards and alerts work, plus recur's own peak resident set. With embedded chDB
 * the engine runs in this process: its memory is in the resident set, not in the JavaScript heap.
 */
export function processMetrics(): Record<string, number> {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    process_cpu_user_seconds_total: cpu.user / 1e6,
    process_cpu_system_seconds_total: cpu.system / 1e6,
    process_cpu_seconds_total: (cpu.user + cpu.system) / 1e6,
    process_resident_memory_bytes: mem.rss,
    /** Peak resident set since start (getrusage ru_maxrss, KiB on Linux): what a memory limit must allow for. Not a standard name. */
    recur_peak_resident_memory_bytes: process.resourceUsage().maxRSS * 1024,
    process_start_time_seconds: START_SECONDS,
    nodejs_heap_size_total_bytes: mem.heapTotal,
    nodejs_heap_size_used_bytes: mem.heapUsed,
    nodejs_external_memory_bytes: mem.external,
  };
}
