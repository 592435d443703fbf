import { readFileSync } from 'node:fs';
import { z } from 'zod';
import YAML from 'yaml';
import { PipelineError } from '../errors.js';
import { configSchema, type Config } from './schema.js';

type Tree = Record<string, unknown>;

export interface LoadOptions {
  /** Path given with --config (YAML or JSON). */
  file?: string;
  /** Usually process.env; the only place env is read. */
  env?: Record<string, string | undefined>;
  /** Flags already mapped to config paths, e.g. { 'clickhouse.url': '...' }. */
  overrides?: Record<string, unknown>;
  /** Told of RECUR_* variables that look like settings but match no key (they are ignored). */
  onWarning?: (message: string) => void;
}

/** RECUR_KAFKA_* variables of scripts/kafka-local.sh, not settings. */
const NOT_SETTINGS = new Set(['RECUR_KAFKA_HOME', 'RECUR_KAFKA_CACHE']);

/** defaults → file → RECUR_* env → flags, validated once. Throws PipelineError('config_invalid') naming the key. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const tree: Tree = {};
  if (opts.file) {
    const fromFile = readConfigFile(opts.file);
    // A mistyped key would otherwise be dropped without a word and its setting silently left at the default.
    const unknown = unknownKeys(fromFile, configSchema, []);
    if (unknown.length > 0) {
      const lines = unknown.map((u) => `config file ${opts.file}: unknown key "${u.key}"${u.near ? ` (did you mean "${u.near}"?)` : ''}`);
      throw new PipelineError('config_invalid', 'config', lines.join('\n'));
    }
    deepMerge(tree, fromFile);
  }
  const fromEnv = envEntries(opts.env ?? {});
  for (const [path, value] of fromEnv) setPath(tree, path, value);
  dropShadowedSecrets(tree, fromEnv.map(([path]) => path));
  if (opts.onWarning) {
    // Environment variables are not refused (other tools share the namespace), but a typo is worth a word.
    for (const [path, , name] of fromEnv) {
      if (NOT_SETTINGS.has(name)) continue;
      const [unknown] = unknownKeys(pathTree(path), configSchema, []);
      if (!unknown) continue;
      // Nested keys (kafka.ssl.enabled) have no variable: only a config file sets them.
      opts.onWarning(`${name} matches no setting the environment can set, and is ignored${unknown.near ? ` (did you mean ${envName(unknown.near)}?)` : ''}`);
    }
    // A mistyped section (RECUR_TREND_ENABLED) is not one of ours to judge, unless the rest names a setting of the section it nearly spells.
    for (const [name, near] of misspelledSections(opts.env ?? {})) opts.onWarning(`${name} matches no setting the environment can set, and is ignored (did you mean ${near}?)`);
  }
  const overrides = Object.entries(opts.overrides ?? {}).filter(([, value]) => value !== undefined);
  for (const [path, value] of overrides) setPath(tree, path, value);
  dropShadowedSecrets(tree, overrides.map(([path]) => path));
  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) throw new PipelineError('config_invalid', 'config', formatConfigError(parsed.error, tree));
  return parsed.data;
}

/** A secret's inline value and its file: one of a pair set by a later layer replaces the other from an earlier one. */
const SECRET_PAIRS: Readonly<Record<string, string>> = { password: 'passwordFile', passwordFile: 'password', secret: 'secretFile', secretFile: 'secret' };

/**
 * Layers override each other key by key, and a secret is two keys: the environment's RECUR_CLICKHOUSE_PASSWORD over a
 * file's passwordFile must win as any later layer does (readSecret would read the file). A layer that sets both keeps
 * both (its file is read).
 */
function dropShadowedSecrets(tree: Tree, paths: readonly string[]): void {
  const set = new Set(paths);
  for (const path of paths) {
    const parts = path.split('.');
    const sibling = SECRET_PAIRS[parts.at(-1)!];
    if (!sibling) continue;
    // An empty value (RECUR_CLICKHOUSE_PASSWORD= from a template's ${X:-}) sets nothing over an earlier file.
    if (getPath(tree, parts) === '') continue;
    const siblingPath = [...parts.slice(0, -1), sibling];
    if (set.has(siblingPath.join('.'))) continue;
    const parent = getPath(tree, parts.slice(0, -1));
    if (parent && typeof parent === 'object') delete (parent as Record<string, unknown>)[sibling];
  }
}

function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PipelineError('config_invalid', 'config', `cannot read config file ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new PipelineError('config_invalid', 'config', `config file ${file} does not parse: ${whereParseFailed(err, text)}`);
  }
  if (value == null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new PipelineError('config_invalid', 'config', `config file ${file} must hold a mapping at the top level`);
  }
  return value as Tree;
}

/**
 * RECUR_KAFKA_GROUP_ID → kafka.groupId, RECUR_CLICKHOUSE_URL → clickhouse.url. The section is the first
 * word; the rest is camel-cased. Values are typed from the schema leaf: arrays split on commas, numbers,
 * booleans ("true"/"false"/"1"/"0"); an empty string unsets nothing (it is reported as invalid).
 */
function envEntries(env: Record<string, string | undefined>): [string, unknown, string][] {
  const shape = configSchema.shape as Record<string, z.ZodType>;
  const out: [string, unknown, string][] = [];
  for (const [name, raw] of Object.entries(env)) {
    const k = envWords(name);
    if (raw === undefined || !k || !(k.section in shape)) continue;
    out.push([`${k.section}.${k.key}`, coerceEnv(raw, leafKind(shape[k.section]!, k.key)), name]);
  }
  return out;
}

/** RECUR_KAFKA_GROUP_ID → { section: 'kafka', key: 'groupId' }: the first word, then the rest camel-cased (null: not RECUR_A_B…). */
function envWords(name: string): { section: string; key: string } | null {
  if (!name.startsWith('RECUR_')) return null;
  const words = name.slice(6).toLowerCase().split('_');
  if (words.length < 2) return null;
  return { section: words[0]!, key: words.slice(1).map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('') };
}

/**
 * RECUR_* variables whose first word is not a section but is one or two edits from one, and whose rest is a key
 * of that section: a typo, with the variable that was meant. Other tools' RECUR_* variables (RECUR_MODEL_DIR,
 * the test scripts' own) name no setting of a nearby section, so they pass without a word.
 */
function misspelledSections(env: Record<string, string | undefined>): [string, string][] {
  const shape = configSchema.shape as Record<string, z.ZodType>;
  const out: [string, string][] = [];
  for (const [name, raw] of Object.entries(env)) {
    const k = envWords(name);
    if (raw === undefined || !k || k.section in shape) continue;
    const section = Object.keys(shape).find((s) => editDistance(k.section, s.toLowerCase()) <= 2);
    if (!section) continue;
    const [unknown] = unknownKeys(pathTree(`${section}.${k.key}`), configSchema, []);
    if (!unknown) out.push([name, envName(`${section}.${k.key}`)]);
  }
  return out;
}

type Def = { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType; options?: z.ZodType[]; in?: z.ZodType };

/** Keys of `value` that `schema` does not know (dotted paths), each with the nearest known key if any. */
function unknownKeys(value: unknown, schema: z.ZodType, path: string[]): { key: string; near?: string }[] {
  const def = (unwrap(schema) as unknown as { def: Def }).def;
  if (def.type === 'pipe' && def.in) return unknownKeys(value, def.in, path);
  if (def.type === 'union' && def.options) {
    // The object option of a union (a bucket is 'hour' or { minutes }) checks an object value.
    const objects = def.options.filter((o) => (unwrap(o) as unknown as { def: Def }).def.type === 'object');
    return value && typeof value === 'object' && !Array.isArray(value) && objects.length === 1 ? unknownKeys(value, objects[0]!, path) : [];
  }
  if (def.type === 'array' && def.element && Array.isArray(value)) return value.flatMap((v, i) => unknownKeys(v, def.element!, [...path, String(i)]));
  if (def.type !== 'object' || !def.shape || !value || typeof value !== 'object' || Array.isArray(value)) return [];
  const shape = def.shape;
  return Object.entries(value as Tree).flatMap(([k, v]) => {
    if (k in shape) return unknownKeys(v, shape[k]!, [...path, k]);
    const near = nearest(k, Object.keys(shape));
    return [{ key: [...path, k].join('.'), ...(near ? { near: [...path, near].join('.') } : {}) }];
  });
}

/** The known key closest to a mistyped one (case-insensitive edit distance at most 3), if any. */
function nearest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 4;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

function unwrap(t: z.ZodType): z.ZodType {
  let cur: z.ZodType = t;
  // default / optional wrappers keep the inner type under def.innerType
  for (let i = 0; i < 5; i++) {
    const inner = (cur as unknown as { def: { innerType?: z.ZodType } }).def.innerType;
    if (!inner) break;
    cur = inner;
  }
  return cur;
}

function leafKind(section: z.ZodType, key: string): string {
  const obj = unwrap(section) as unknown as { shape?: Record<string, z.ZodType> };
  const leaf = obj.shape?.[key];
  return leaf ? (unwrap(leaf) as unknown as { def: { type: string } }).def.type : 'string';
}

function coerceEnv(raw: string, kind: string): unknown {
  if (kind === 'array') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (kind === 'number') return raw.trim() === '' ? raw : Number(raw);
  if (kind === 'boolean') return /^(true|1|yes)$/i.test(raw) ? true : /^(false|0|no)$/i.test(raw) ? false : raw;
  return raw;
}

/** kafka.groupId → RECUR_KAFKA_GROUP_ID (envEntries' mapping, backwards). */
function envName(path: string): string {
  return `RECUR_${path.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** { a: { b: null } } for 'a.b': the shape of one path, for unknownKeys. */
function pathTree(path: string): Tree {
  const tree: Tree = {};
  setPath(tree, path, null);
  return tree;
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null) node[p] = {};
    node = node[p] as Tree;
  }
  node[parts[parts.length - 1]!] = value;
}

function deepMerge(target: Tree, src: Tree): void {
  for (const [k, v] of Object.entries(src)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && typeof target[k] === 'object' && target[k] !== null) {
      deepMerge(target[k] as Tree, v as Tree);
    } else target[k] = v;
  }
}

/**
 * Where a config file failed to parse, without the parser's excerpt of it: the excerpt can be the line that
 * holds a password.
 */
export function whereParseFailed(err: unknown, text: string): string {
  const pos = (err as { linePos?: { line: number; col: number }[] }).linePos?.[0];
  if (pos) return `${(err as { code?: string }).code ?? 'invalid YAML'} at line ${pos.line}, column ${pos.col}`;
  const at = /position (\d+)/.exec(err instanceof Error ? err.message : '');
  if (!at) return 'invalid JSON';
  const before = text.slice(0, Number(at[1])).split('\n');
  return `invalid JSON at line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

const SECRET_KEYS = /password|secret|token|key/i;

/**
 * A value shown in a config error. A URL shows its scheme and what follows its last "@" up to any query: its
 * credentials may hold "/" or "@", and its query may hold a password (ClickHouse takes `?password=`). Hidden before
 * the value is cut to length, so the cut cannot leave part of them out of the hiding.
 */
function shownValue(v: unknown): string {
  let value = v;
  if (typeof v === 'string') {
    const url = /^([a-z][a-z0-9+.-]*:)\/\/(.*)$/is.exec(v.trim());
    if (url) {
      // The last "@" first: a password may hold "?" or "#", which would otherwise cut it off as a query.
      const at = url[2]!.lastIndexOf('@');
      const host = (at >= 0 ? url[2]!.slice(at + 1) : url[2]!).replace(/[?#].*$/s, (q) => (q.startsWith('?') ? '?***' : ''));
      value = `${url[1]}//${at >= 0 ? '***@' : ''}${host}`;
    } else value = v.replace(/\/\/[^\s"]*@/g, '//***@');
  }
  return JSON.stringify(value)?.slice(0, 80) ?? 'nothing';
}

function formatConfigError(error: z.ZodError, tree: Tree): string {
  return error.issues
    .map((i) => {
      const key = i.path.join('.');
      const shown = SECRET_KEYS.test(key) ? '' : ` (got ${shownValue(getPath(tree, i.path))})`;
      return `config key "${key}": ${i.message}${shown}`;
    })
    .join('\n');
}

function getPath(tree: unknown, path: PropertyKey[]): unknown {
  let node = tree;
  for (const p of path) node = node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[p] : undefined;
  return node;
}

/** Reads a secret from its inline value or its file; never logged. */
export function readSecret(value: string | undefined, file: string | undefined): string | undefined {
  if (file) return readFileSync(file, 'utf8').trim();
  return value;
}
