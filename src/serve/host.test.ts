import { describe, expect, it } from 'vitest';
import { hostAllowed } from './host.js';

describe('hostAllowed (DNS rebinding)', () => {
  it('answers loopback names and IP addresses on any listen address', () => {
    for (const on of ['127.0.0.1', '0.0.0.0', '::', '10.0.0.5']) {
      for (const h of ['127.0.0.1:8470', 'localhost:8470', 'LOCALHOST', '[::1]:8470', 'app.localhost:8470', '10.0.0.5:8470', '[fe80::1]:8470']) expect(hostAllowed(h, on), `${h} on ${on}`).toBe(true);
    }
  });

  it('refuses a name of its own a page points at the server, also on a wildcard or a network address', () => {
    for (const on of ['127.0.0.1', '0.0.0.0', '::', '10.0.0.5']) {
      for (const h of ['evil.example:8470', 'evil.example', '127.0.0.1.evil.example', undefined]) expect(hostAllowed(h, on), `${String(h)} on ${on}`).toBe(false);
    }
  });

  it('answers the name it was told to listen on and the names serve.allowedHosts gives', () => {
    expect(hostAllowed('recur.internal:8470', 'recur.internal')).toBe(true);
    expect(hostAllowed('Recur.Team.Example:8470', '0.0.0.0', ['recur.team.example'])).toBe(true);
    expect(hostAllowed('other.team.example', '0.0.0.0', ['recur.team.example'])).toBe(false);
  });
});
