import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, readSecret } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'recur-cfg-'));

describe('loadConfig', () => {
  it('has working defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(c.clickhouse.url).toBeUndefined();
    expect(c.clickhouse.dataDir).toBe('./.recur/data');
  });

  it('layers defaults → file → env → flags', () => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'kafka:\n  topic: from-file\n  groupId: file-group\ningest:\n  maxBatchRows: 10\n');
    const c = loadConfig({
      file,
      env: { RECUR_KAFKA_GROUP_ID: 'env-group', RECUR_INGEST_MAX_BATCH_ROWS: '20', RECUR_KAFKA_BROKERS: 'a:1, b:2', PATH: '/bin' },
      overrides: { 'ingest.maxBatchRows': 30 },
    });
    expect(c.kafka.topic).toBe('from-file');
    expect(c.kafka.groupId).toBe('env-group');
    expect(c.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(c.ingest.maxBatchRows).toBe(30);
  });

  it("takes a secret from the last layer that sets it, inline or as a file (the file's own was read over a later password)", () => {
    const secretFile = join(dir, 'ch-password');
    writeFileSync(secretFile, 'old-file-password\n');
    const file = join(dir, 'secrets.yaml');
    writeFileSync(file, `clickhouse:\n  passwordFile: ${secretFile}\nkafka:\n  sasl:\n    mechanism: scram-sha-256\n    username: u\n    passwordFile: ${secretFile}\n`);
    const fromEnv = loadConfig({ file, env: { RECUR_CLICKHOUSE_PASSWORD: 'new-env-password' } });
    expect(readSecret(fromEnv.clickhouse.password, fromEnv.clickhouse.passwordFile)).toBe('new-env-password');
    // Untouched by the environment, the file's file stands.
    expect(readSecret(fromEnv.kafka.sasl?.password, fromEnv.kafka.sasl?.passwordFile)).toBe('old-file-password');
    // An empty variable (a template's ${X:-}) sets nothing: the file is still read.
    const empty = loadConfig({ file, env: { RECUR_CLICKHOUSE_PASSWORD: '' } });
    expect(readSecret(empty.clickhouse.password, empty.clickhouse.passwordFile)).toBe('old-file-password');
    const fromFlag = loadConfig({ file, env: {}, overrides: { 'kafka.sasl.password': 'flag-password' } });
    expect(readSecret(fromFlag.kafka.sasl?.password, fromFlag.kafka.sasl?.passwordFile)).toBe('flag-password');
    // And the other way round: a file named later wins over an inline password before it.
    const inline = join(dir, 'inline.yaml');
    writeFileSync(inline, 'clickhouse:\n  password: inline-password\n');
    const later = loadConfig({ file: inline, env: { RECUR_CLICKHOUSE_PASSWORD_FILE: secretFile } });
    expect(readSecret(later.clickhouse.password, later.clickhouse.passwordFile)).toBe('old-file-password');
    expect(readSecret(loadConfig({ file: inline, env: {} }).clickhouse.password, undefined)).toBe('inline-password');
  });

  it('reads JSON config files', () => {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ clickhouse: { url: 'http://127.0.0.1:8123' } }));
    expect(loadConfig({ file, env: {} }).clickhouse.url).toBe('http://127.0.0.1:8123');
  });

  it('names the bad key and value', () => {
    expect(() => loadConfig({ env: { RECUR_INGEST_MAX_BATCH_ROWS: '-5' } })).toThrow(/ingest\.maxBatchRows/);
    expect(() => loadConfig({ overrides: { 'clickhouse.url': 'not a url' } })).toThrow(/clickhouse\.url.*not a url/);
    expect(() => loadConfig({ overrides: { 'log.level': 'loud' } })).toThrow(/log\.level/);
    // The clusterer refused it only at start, with a RangeError and a stack trace.
    expect(() => loadConfig({ env: { RECUR_CLUSTER_MAX_CLUSTERS: '1' } })).toThrow(/config key "cluster\.maxClusters": at least 2/);
    // A pipeline's name goes into its cluster ids, which alert payloads bound to 256 characters.
    expect(loadConfig({ env: { RECUR_CLUSTER_PIPELINE: 'p'.repeat(64) } }).cluster.pipeline).toHaveLength(64);
    expect(() => loadConfig({ env: { RECUR_CLUSTER_PIPELINE: 'p'.repeat(65) } })).toThrow(/config key "cluster\.pipeline": at most 64 characters/);
    expect(() => loadConfig({ env: { RECUR_CLUSTER_PIPELINE: 'eu west' } })).toThrow(/cluster\.pipeline.*letters, digits/);
  });

  it("refuses a timer longer than Node keeps, which would fire after 1 ms instead", () => {
    const file = join(dir, 'timer.json');
    writeFileSync(file, JSON.stringify({ alerts: { webhooks: [{ url: 'https://hooks.example/a', secret: 'whsec_x', timeoutMs: 3_000_000_000 }] } }));
    expect(() => loadConfig({ file, env: {} })).toThrow(/alerts\.webhooks\.0\.timeoutMs.*about 24\.8 days/);
    expect(() => loadConfig({ env: { RECUR_KAFKA_SESSION_TIMEOUT_MS: '2147483648' } })).toThrow(/kafka\.sessionTimeoutMs/);
    expect(loadConfig({ env: { RECUR_KAFKA_SESSION_TIMEOUT_MS: '2147483647' } }).kafka.sessionTimeoutMs).toBe(2_147_483_647);
  });

  it('never echoes secrets in errors', () => {
    expect(() => loadConfig({ overrides: { 'clickhouse.password': 12345 } })).toThrow(/clickhouse\.password/);
    try {
      loadConfig({ overrides: { 'clickhouse.password': 12345 } });
    } catch (err) {
      expect(String(err)).not.toContain('12345');
    }
  });

  it("never echoes a URL's credentials or query, whatever they hold or however long", () => {
    const message = (url: string): string => {
      try {
        loadConfig({ env: { RECUR_CLICKHOUSE_URL: url } });
      } catch (err) {
        return String(err);
      }
      return 'accepted';
    };
    // A "/" in the password makes the URL invalid, and the hiding stopped at it.
    const slash = message('http://recur:Zm9v/YmFy+cXV4==@clickhouse.internal:8123');
    expect(slash).toMatch(/clickhouse\.url.*Invalid URL \(got "http:\/\/\*\*\*@clickhouse\.internal:8123"\)/);
    expect(slash).not.toMatch(/Zm9v|YmFy|cXV4/);
    // Longer than the value's 80 shown characters: the cut removed the "@" the hiding looked for.
    const secret = 'Xk29vLq8TzR4mN7pW2sY5bH3jD6fG9cA1eU0i'.repeat(2);
    const long = message(`https://recur:${secret}@[bad`);
    expect(long).toMatch(/clickhouse\.url/);
    expect(long).not.toContain(secret.slice(0, 8));
    // A "?" or "#" in the password: the cut at a query or fragment came before the "@" was found.
    for (const pw of ['Xk29vLq8Tz?R4mN7pW', 'Xk29vLq8Tz#R4mN7pW']) {
      const cut = message(`http://recur:${pw}@clickhouse internal:8123`);
      expect(cut).toContain('(got "http://***@clickhouse internal:8123")');
      expect(cut).not.toContain('Xk29');
      // Only the parse error: the two other checks have nothing to say of a URL that does not parse.
      expect(cut.split('\n')).toHaveLength(1);
    }
    // ClickHouse takes a password as ?password=: a query is not shown either.
    const query = message('http://clickhouse.internal:8123 /?user=recur&password=hunter22');
    expect(query).toMatch(/clickhouse\.url/);
    expect(query).not.toContain('hunter22');
  });

  it('refuses URL credentials that do not decode (a bare "%"), naming the key and not the password', () => {
    const url = 'http://recur:50%off@127.0.0.1:8123';
    let err: unknown;
    try {
      loadConfig({ env: { RECUR_CLICKHOUSE_URL: url } });
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/config key "clickhouse\.url": its user:password@ must be percent-encoded/);
    expect(String(err)).not.toContain('50%off');
    expect(loadConfig({ env: { RECUR_CLICKHOUSE_URL: 'http://recur:50%25off@127.0.0.1:8123' } }).clickhouse.url).toBe('http://recur:50%25off@127.0.0.1:8123');
  });

  it('refuses a ClickHouse URL with a path or query, which it would drop without a word', () => {
    for (const url of ['http://127.0.0.1:8123/analytics', 'http://127.0.0.1:8123/?database=analytics', 'https://proxy.internal/clickhouse/'])
      expect(() => loadConfig({ env: { RECUR_CLICKHOUSE_URL: url } }), url).toThrow(/clickhouse\.url": takes no path, query or fragment \(the database is clickhouse\.database\)/);
    for (const url of ['http://127.0.0.1:8123', 'http://127.0.0.1:8123/', 'https://u:p@ch.internal:8443'])
      expect(loadConfig({ env: { RECUR_CLICKHOUSE_URL: url } }).clickhouse.url, url).toBe(url);
  });

  it('never echoes a secret from a config file that does not parse, only where it failed', () => {
    const messageOf = (file: string) => {
      try {
        loadConfig({ file });
      } catch (err) {
        return String(err);
      }
      throw new Error('loaded');
    };
    const yaml = join(dir, 'secret.yaml');
    writeFileSync(yaml, 'clickhouse:\n  password: s3cr3t: Pa55\n');
    expect(messageOf(yaml)).toMatch(/does not parse: .* at line 2, column \d+/);
    expect(messageOf(yaml)).not.toContain('s3cr3t');
    const json = join(dir, 'secret.json');
    writeFileSync(json, '{"clickhouse": {"password": s3cr3t}}');
    expect(messageOf(json)).toMatch(/does not parse: invalid JSON/);
    expect(messageOf(json)).not.toContain('s3cr3t');
  });

  it('refuses a webhook URL with credentials in it, without showing them', () => {
    const url = 'https://ops:hunter2@hooks.example.com/recur';
    expect(() => loadConfig({ overrides: { 'alerts.webhooks': [{ url, secret: 'whsec_x' }] } })).toThrow(/alerts\.webhooks\.0\.url": must not carry credentials/);
    try {
      loadConfig({ overrides: { 'alerts.webhooks': [{ url, secret: 'whsec_x' }] } });
    } catch (err) {
      expect(String(err)).not.toContain('hunter2');
    }
  });

  it('refuses keys it does not know in a config file, naming the nearest known one', () => {
    const file = join(dir, 'typos.yaml');
    writeFileSync(
      file,
      [
        'trends:',
        '  enable: false',
        '  bucket: { minutes: 15, minute: 3 }',
        'kafka:',
        '  sasl: { mechanism: plain, username: u, pasword: hunter2 }',
        'owners:',
        '  rules:',
        '    - { team: eng, terms: [crash], bogus: 1 }',
      ].join('\n'),
    );
    let message = '';
    try {
      loadConfig({ file, env: {} });
    } catch (err) {
      message = String(err);
    }
    expect(message).toContain('unknown key "trends.enable" (did you mean "trends.enabled"?)');
    expect(message).toContain('unknown key "trends.bucket.minute" (did you mean "trends.bucket.minutes"?)');
    expect(message).toContain('unknown key "kafka.sasl.pasword" (did you mean "kafka.sasl.password"?)');
    expect(message).toContain('unknown key "owners.rules.0.bogus"');
    expect(message).not.toContain('hunter2');
  });

  it('warns of RECUR_* variables that match no setting, and still starts', () => {
    const warnings: string[] = [];
    const c = loadConfig({
      env: {
        RECUR_TRENDS_ENABLE: 'false',
        RECUR_CLUSTER_MAX_CLUSTER: '5',
        RECUR_KAFKA_GROUP_ID: 'g',
        RECUR_KAFKA_HOME: '/srv/kafka',
        RECUR_NOT_A_SECTION: 'x',
        RECUR_TREND_ENABLED: 'false',
        RECUR_CLICKHOSE_URL: 'http://x:8123',
        // Other tools' variables: no section nearby names them.
        RECUR_MODEL_DIR: '/models',
        RECUR_BIN: '/usr/local/bin/recur',
        RECUR_TESTS_NO_DOCKER: '1',
      },
      onWarning: (m) => warnings.push(m),
    });
    expect(c.trends.enabled).toBe(true);
    expect(c.kafka.groupId).toBe('g');
    expect(warnings).toEqual([
      'RECUR_TRENDS_ENABLE matches no setting the environment can set, and is ignored (did you mean RECUR_TRENDS_ENABLED?)',
      'RECUR_CLUSTER_MAX_CLUSTER matches no setting the environment can set, and is ignored (did you mean RECUR_CLUSTER_MAX_CLUSTERS?)',
      'RECUR_TREND_ENABLED matches no setting the environment can set, and is ignored (did you mean RECUR_TRENDS_ENABLED?)',
      'RECUR_CLICKHOSE_URL matches no setting the environment can set, and is ignored (did you mean RECUR_CLICKHOUSE_URL?)',
    ]);
    expect(c.clickhouse.url).toBeUndefined();
  });

  it('accepts the example configuration the README shows', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toContain('clickhouse:');
    const file = join(dir, 'readme.yaml');
    writeFileSync(file, example!);
    const c = loadConfig({ file, env: {} });
    expect(c.kafka.partitionsConcurrently).toBe(1);
    expect(c.mask.extraRules[0]!.name).toBe('employee_id');
    expect(c.owners.rules.map((r) => r.team)).toEqual(['billing', 'manufacturing']);
    expect(c.alerts.webhooks[0]!.url).toBe('https://hooks.internal/recur');
    expect(c.trends.timeZone).toBe('Europe/Berlin');
  });

  it('reports unreadable or malformed files', () => {
    expect(() => loadConfig({ file: join(dir, 'missing.yaml') })).toThrow(/cannot read config file/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'kafka: [unclosed');
    expect(() => loadConfig({ file: bad })).toThrow(/does not parse/);
  });
});
