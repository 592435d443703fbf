// The dashboard page, JSON API, /metrics and /healthz over HTTP; reads through store/ only.
// In embedded mode the process that owns the chDB directory serves the others through it.
export { SERVING_FILE, TOKEN_FILE, startServer, type Health, type ServeOptions } from './server.js';
