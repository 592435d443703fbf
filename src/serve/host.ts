import { isIPv4, isIPv6 } from 'node:net';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Whether a request's Host header is one this server answers. A web page elsewhere can point a name of its own
 * at the server's address (DNS rebinding) and read the API, customer ids included, whatever address the server
 * listens on (a wildcard listens on loopback too). So a request is answered only when it names an IP address
 * (there is no name to rebind), a loopback name, the address the server was told to listen on, or one of
 * `allowed` (serve.allowedHosts: the names a team reaches a shared server by).
 */
export function hostAllowed(hostHeader: string | undefined, servedOn: string, allowed: readonly string[] = []): boolean {
  if (!hostHeader) return false;
  const bracketed = hostHeader.startsWith('[');
  const name = (bracketed ? hostHeader.slice(1, hostHeader.indexOf(']')) : hostHeader.split(':')[0]!).toLowerCase();
  if (bracketed ? isIPv6(name) : isIPv4(name)) return true;
  if (LOOPBACK.has(name) || name.endsWith('.localhost')) return true;
  const own = servedOn.replace(/^\[|\]$/g, '').toLowerCase();
  return name === own || allowed.some((a) => a.toLowerCase() === name);
}
