/** Counters and summaries rendered in Prometheus text format on /metrics and in `recur status`. */
type Labels = Record<string, string>;

function key(name: string, labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, '_')}"`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

export class Metrics {
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
    return Object.entries(this.snapshot())
      .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(6)}`)
      .join('\n')
      .concat('\n');
  }
}
