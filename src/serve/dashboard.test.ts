import { describe, expect, it } from 'vitest';
import { DASHBOARD_HTML } from './dashboard.js';

interface FakeElement {
  innerHTML: string;
  textContent: string;
  style: Record<string, string>;
}

/** Runs the page's script over a minimal DOM, with `answer` in place of the API; returns what it wrote and asked. */
async function render(answer: (path: string) => { status: number; body: unknown }, clusterShown?: string) {
  const script = DASHBOARD_HTML.split('<script>')[1]!.split('</script>')[0]!;
  const elements = new Map<string, FakeElement>();
  const el = (key: string) => elements.get(key) ?? elements.set(key, { innerHTML: '', textContent: '', style: {} }).get(key)!;
  const asked: string[] = [];
  const fetch = async (path: string) => {
    asked.push(path);
    const { status, body } = answer(path);
    return { ok: status >= 200 && status < 300, status, json: async () => body };
  };
  const document = { getElementById: el, querySelector: el, querySelectorAll: () => [] };
  const page = new Function('document', 'fetch', 'setInterval', `${script}\n;return { load, show };`) as (
    d: typeof document,
    f: typeof fetch,
    s: () => number,
  ) => { load: () => Promise<void>; show: (id: string) => Promise<void> };
  const { load, show } = page(document, fetch, () => 0);
  await load();
  if (clusterShown) await show(clusterShown);
  return { el, asked };
}

const summary = { events: 3, cases: 2, customers: 2, masked: '2 events' };
const cluster = (id: string, state: string, mergedInto = '') => ({ cluster_id: id, cases: 2, customers: 2, contacts: 3, cost: 1.5, label: `card <b>declined</b> ${id}`, state, merged_into: mergedInto });

describe('dashboard page', () => {
  it('says beside a cluster merged away which one it joined, as recur clusters does, and escapes its label', async () => {
    const api = (path: string) => {
      if (path.startsWith('api/summary')) return { status: 200, body: summary };
      if (path.startsWith('api/clusters')) return { status: 200, body: [cluster('c_0', 'live'), cluster('c_35', 'merged', 'c_0'), cluster('c_9', 'retired')] };
      return { status: 200, body: [] };
    };
    const rows = (await render(api)).el('#clusters tbody').innerHTML.split('</tr>').filter(Boolean);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain('<td>live</td><td>card &lt;b&gt;declined&lt;/b&gt; c_0</td>');
    expect(rows[1]).toContain('<td>merged into c_0</td>');
    expect(rows[2]).toContain('<td>retired</td>');
  });

  it('asks for a bounded list of trend episodes, not every episode ever stored, on each refresh', async () => {
    const { asked } = await render((path) => ({ status: 200, body: path.startsWith('api/summary') ? summary : [] }));
    const trends = asked.find((p) => p.startsWith('api/trends'));
    expect(trends).toMatch(/^api\/trends\?limit=\d+$/);
  });

  it('says an API error instead of failing on it', async () => {
    const failing = (path: string) => (path.startsWith('api/trends') ? { status: 500, body: { error: 'internal error' } } : { status: 200, body: path.startsWith('api/summary') ? summary : [] });
    const page = await render(failing);
    expect(page.el('summary').textContent).toMatch(/^not available: api\/trends\?limit=\d+: internal error$/);
    const missing = (path: string) => (path.startsWith('api/cluster/') ? { status: 404, body: { error: 'no such cluster' } } : { status: 200, body: path.startsWith('api/summary') ? summary : [] });
    const detail = (await render(missing, 'c_404')).el('detail');
    expect([detail.style['display'], detail.textContent]).toEqual(['block', 'not available: api/cluster/c_404: no such cluster']);
  });
});
