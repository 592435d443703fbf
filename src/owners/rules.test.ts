import { describe, expect, it } from 'vitest';
import { ownersConfigSchema, routeOwner, type RoutableCluster } from './index.js';

const cfg = ownersConfigSchema.parse({});
const none = new Map<string, string>();
const cluster = (label: string, topTerms: string[], extra: Partial<RoutableCluster> = {}): RoutableCluster => ({
  clusterId: 'c-1',
  label,
  topTerms,
  ...extra,
});

describe('routeOwner', () => {
  it('routes real support texts by their terms to the default teams', () => {
    expect(routeOwner(cluster('charged twice for one order', ['charg', 'twice', 'order']), cfg, none)).toEqual({
      owner: 'finance',
      reason: 'rule',
      rule: 0,
    });
    expect(routeOwner(cluster('where is the refund', ['refunds', 'pending']), cfg, none).owner).toBe('finance');
    expect(routeOwner(cluster('How do I change my PIN', ['pin', 'change']), cfg, none).owner).toBe('documentation');
    expect(routeOwner(cluster('screen arrived damaged', ['screen', 'arriv']), cfg, none).owner).toBe('manufacturing');
    expect(routeOwner(cluster('app crashes on statement page', ['app', 'statement']), cfg, none)).toEqual({
      owner: 'engineering',
      reason: 'rule',
      rule: 3,
    });
  });

  it('matches whole words case-insensitively, by their stems', () => {
    // "prefund" must not match "refund"; "Refunding" must.
    expect(routeOwner(cluster('prefunded account', ['prefund']), cfg, none).reason).toBe('default');
    expect(routeOwner(cluster('REFUNDING', []), cfg, none).owner).toBe('finance');
    expect(routeOwner(cluster('card-fee question', []), cfg, none).owner).toBe('finance');
  });

  it('matches whole words by their stems, not the start of longer words', () => {
    // With prefixes, "fee" took feedback and "charge" took chargers to finance, and "how" took "however".
    expect(routeOwner(cluster('feedback form broken', ['feedback', 'form', 'broken']), cfg, none).owner).toBe('manufacturing');
    expect(routeOwner(cluster('phone charger dead', ['phone', 'charger', 'dead']), cfg, none).reason).toBe('default');
    expect(routeOwner(cluster('however the app fails', ['howev', 'app', 'fail']), cfg, none).owner).toBe('engineering');
    // A term of several words matches them in order, within one entry; numbers count.
    const c = ownersConfigSchema.parse({ rules: [{ team: 'cards', terms: ['credit card'] }, { team: 'web', terms: ['error 404'] }] });
    expect(routeOwner(cluster('my credit cards declined', []), c, none).owner).toBe('cards');
    expect(routeOwner(cluster('credit', ['card']), c, none).reason).toBe('default');
    expect(routeOwner(cluster('error 404 on login', []), c, none).owner).toBe('web');
    expect(routeOwner(cluster('error 500 on login', []), c, none).reason).toBe('default');
  });

  it('keeps words whose ending keeps the sense, and cluster terms that are stems already', () => {
    expect(routeOwner(cluster('payment failure', []), cfg, none).owner).toBe('engineering');
    expect(routeOwner(cluster('login failures', []), cfg, none).owner).toBe('engineering');
    expect(routeOwner(cluster('buggy statement page', []), cfg, none).owner).toBe('engineering');
    expect(routeOwner(cluster('refunded twice', []), cfg, none).owner).toBe('finance');
    // Top terms are stems: "employe" is the stem of "employee", and must not be stemmed again.
    const staff = ownersConfigSchema.parse({ rules: [{ team: 'hr', terms: ['employee'] }] });
    expect(routeOwner(cluster('', ['employe', 'badg']), staff, none).owner).toBe('hr');
  });

  it('does not take a longer word for a rule word with a letter added', () => {
    expect(routeOwner(cluster('news feed empty', ['news', 'feed']), cfg, none).reason).toBe('default');
    const c = ownersConfigSchema.parse({ rules: [{ team: 'fleet', terms: ['car'] }, { team: 'ads', terms: ['ad'] }, { team: 'transit', terms: ['bus'] }] });
    for (const label of ['card declined', 'add a payee', 'line busy']) expect(routeOwner(cluster(label, []), c, none).reason).toBe('default');
    expect(routeOwner(cluster('my car broke', []), c, none).owner).toBe('fleet');
  });

  it('reads a hyphenated rule word as the words of labels and terms', () => {
    const c = ownersConfigSchema.parse({ rules: [{ team: 'topups', terms: ['top-up'] }] });
    expect(routeOwner(cluster('top up failed', ['top', 'up']), c, none).owner).toBe('topups');
    expect(routeOwner(cluster('', ['top up', 'fail']), c, none).owner).toBe('topups');
  });

  it('matches a term with symbols only as written', () => {
    const c = ownersConfigSchema.parse({ rules: [{ team: 'cpp', terms: ['c++'] }, { team: 'dotnet', terms: ['.net'] }] });
    expect(routeOwner(cluster('usb type c cable', []), c, none).reason).toBe('default');
    expect(routeOwner(cluster('net banking login', []), c, none).reason).toBe('default');
    expect(routeOwner(cluster('crash in .net sdk', []), c, none).owner).toBe('dotnet');
  });

  it('falls back to the default owner', () => {
    expect(routeOwner(cluster('transfer pending for days', ['transfer', 'pend']), cfg, none)).toEqual({
      owner: 'support-ops',
      reason: 'default',
    });
  });

  it('first matching rule wins', () => {
    // "billing error" matches finance (rule 0) and engineering (rule 3).
    expect(routeOwner(cluster('billing error', ['bill', 'error']), cfg, none).rule).toBe(0);
  });

  it('a pin overrides every rule', () => {
    const pins = new Map([['c-1', 'payments-team']]);
    expect(routeOwner(cluster('refund', ['refund']), cfg, pins)).toEqual({ owner: 'payments-team', reason: 'pinned' });
  });

  it('ANDs the dimensions a rule names and ORs values within one', () => {
    const c = ownersConfigSchema.parse({
      rules: [
        { team: 'mobile', terms: ['crash'], channels: ['chat', 'social'] },
        { team: 'cards', products: ['Debit Card'] },
        { team: 'kyc', categories: ['identity'] },
      ],
    });
    expect(routeOwner(cluster('app crash', ['crash'], { channels: ['chat'] }), c, none).owner).toBe('mobile');
    expect(routeOwner(cluster('app crash', ['crash'], { channels: ['phone'] }), c, none).reason).toBe('default');
    expect(routeOwner(cluster('app crash', ['crash']), c, none).reason).toBe('default');
    expect(routeOwner(cluster('x', [], { products: ['debit card'] }), c, none).owner).toBe('cards');
    expect(routeOwner(cluster('x', [], { categories: ['Identity', 'other'] }), c, none).owner).toBe('kyc');
  });

  it('matches rule words against stemmed cluster terms', () => {
    expect(routeOwner(cluster('charg / twice / doubl', ['charg', 'twice']), cfg, none).owner).toBe('finance');
    expect(routeOwner(cluster('app / crash / open', ['crash']), cfg, none).owner).toBe('engineering');
  });

  it('treats regex characters in terms literally', () => {
    const c = ownersConfigSchema.parse({ rules: [{ team: 'cpp', terms: ['c++'] }] });
    expect(routeOwner(cluster('c++ sdk', []), c, none).owner).toBe('cpp');
    expect(routeOwner(cluster('ccc sdk', []), c, none).reason).toBe('default');
  });
});

describe('ownersConfigSchema', () => {
  it('has the documented defaults', () => {
    expect(cfg.defaultOwner).toBe('support-ops');
    expect(cfg.rules.map((r) => r.team)).toEqual(['finance', 'documentation', 'manufacturing', 'engineering']);
    expect(cfg.cost).toEqual({ perContact: { phone: 9, email: 4, chat: 3, social: 5, web: 2, other: 3 } });
  });

  it('rejects a rule without any condition, naming the path', () => {
    const r = ownersConfigSchema.safeParse({ rules: [{ team: 'x' }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['rules', 0]);
  });

  it('keeps partial cost overrides', () => {
    const c = ownersConfigSchema.parse({ cost: { perContact: { phone: 12 }, hourlyRate: 40 } });
    expect(c.cost.perContact.phone).toBe(12);
    expect(c.cost.perContact.email).toBe(4);
    expect(c.cost.hourlyRate).toBe(40);
  });

  it('does not share the default rules between parses', () => {
    const a = ownersConfigSchema.parse({});
    a.rules[0]!.team = 'changed';
    expect(ownersConfigSchema.parse({}).rules[0]!.team).toBe('finance');
  });
});
