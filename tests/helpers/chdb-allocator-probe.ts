// Child process for tests/integration/chdb-memory.test.ts: opens the embedded store the way recur does
// (config from RECUR_* like any command) and prints the allocator options chDB's jemalloc started with.
import { loadConfig } from '../../src/config/index.js';
import { openStore } from '../../src/store/index.js';

const config = loadConfig({ env: process.env, overrides: { 'clickhouse.dataDir': process.argv[2]! } });
const store = await openStore(config.clickhouse);
const rs = await store.client.query({ query: 'SELECT * FROM system.jemalloc_stats', format: 'TabSeparatedRaw' });
const text = await rs.text();
process.stdout.write(text.split('\n').filter((l) => /opt\.(dirty|muzzy)_decay_ms/.test(l)).join('\n') + '\n');
// What processes started from here would inherit.
process.stdout.write(`env JE_MALLOC_CONF=${process.env.JE_MALLOC_CONF ?? '(unset)'}\n`);
await store.close();
