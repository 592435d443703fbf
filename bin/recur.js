#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `recur` never runs stale compiled code.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
