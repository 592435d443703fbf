// Configuration: one zod schema, resolved once as defaults → --config file → RECUR_* env → flags.
// Nothing else in recur reads process.env.
export { configSchema, DEFAULT_PIPELINE, maskRuleSchema, type Config, type MaskRuleConfig } from './schema.js';
export { loadConfig, readSecret, type LoadOptions } from './load.js';
