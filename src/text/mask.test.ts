import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PLACEHOLDERS, compileMaskRules, defaultMaskRules, ibanValid, luhnValid, maskPii, phoneLike, type MaskRuleSpec } from './mask.js';
import { normalizeText } from './normalize.js';

interface GoldenCase {
  domain: string;
  input: string;
  expected: string;
  hits: Record<string, number>;
}

const golden = JSON.parse(readFileSync(new URL('./fixtures/mask-golden.json', import.meta.url), 'utf8')) as {
  cases: GoldenCase[];
};

// The pipeline's path (pipeline/wire.ts): normalise, then mask.
const pipeline = (text: string, rules = compileMaskRules()) => maskPii(normalizeText(text), rules);

describe('maskPii golden fixtures', () => {
  it('has enough cases, covering every default rule and untouched negatives', () => {
    expect(golden.cases.length).toBeGreaterThanOrEqual(40);
    const fired = new Set(golden.cases.flatMap((c) => Object.keys(c.hits)));
    expect([...fired].sort()).toEqual(defaultMaskRules.map((r) => r.name).sort());
    expect(golden.cases.filter((c) => Object.keys(c.hits).length === 0).length).toBeGreaterThanOrEqual(10);
  });

  it.each(golden.cases.map((c) => [c.input, c] as const))('%s', (_input, c) => {
    const result = pipeline(c.input);
    expect(result.text).toBe(c.expected);
    expect(result.hits).toEqual(c.hits);
  });

  it.each(golden.cases.map((c) => [c.expected] as const))('is idempotent: %s', (expected) => {
    expect(pipeline(expected)).toEqual({ text: expected, hits: {} });
  });
});

describe('maskPii kinds and boundaries', () => {
  it.each([
    ['see https://example.com/a?b=1).', 'see <URL>).'],
    ['mailto john@example.com.', 'mailto <EMAIL>.'],
    ['from WWW.Example.COM/path', 'from <URL>'],
    ['at Www.example.org today', 'at <URL> today'],
    ['open HTTP://EXAMPLE.ORG', 'open <URL>'],
    ['a www page, example.com and wwx.example.com', 'a www page, example.com and wwx.example.com'],
    ['host fe80::1ff:fe23:4567:890a down', 'host <IP> down'],
    ['我的IP是10.1.2.3，请检查', '我的IP是<IP>，请检查'],
    ['call +1 (415) 555-2671.', 'call <PHONE>.'],
    ['call 07700 900123 or 020 7946 0958', 'call <PHONE> or <PHONE>'],
    ['card 6011111111111117 ok', 'card <CARD> ok'],
    ['card 4111.1111.1111.1111 ok', 'card <CARD> ok'],
    ['call 555\u2013123\u20134567 today', 'call <PHONE> today'],
    ['IBAN NO93 8601 1117 947', 'IBAN <IBAN>'],
    ['CUST-12345678 and 987654321', 'CUST-<NUMBER> and <NUMBER>'],
  ])('%s', (input, expected) => {
    expect(maskPii(input).text).toBe(expected);
  });

  it.each([
    '2024-03-15', '15.03.2024', '03/15/2024', '10:30', '10:30:15', '$1,250.00', '£30', '1 250,00 €', '15.5%',
    '3 days', '2 cards', 'PIN 1234', 'version 2.3.1', 'version 4.2.1.0', 'iPhone 15', 'error 404', 'code E-1023',
    'in short order', 'order of words', 'order 2 cards', 'ticket #12', 'transaction 12.50', 'Windows 10.0.19045',
    'MAC 00:1A:2B:3C:4D:5E', 'std::vector', 'error 0x80070005', 'year 2019-2024', 'year 2019\u20132024', 'on 2024\u201303\u201315', 'on 15\u201303\u20132024', 'build 22631.3155',
  ])('leaves %s alone', (input) => {
    expect(maskPii(input)).toEqual({ text: input, hits: {} });
  });

  it('splits over-long phone runs into numbers side by side, but not equal-width groups', () => {
    expect(maskPii('member 12345678 07700 900123 calling').text).toBe('member <NUMBER> <PHONE> calling');
    expect(maskPii('+44 20 7946 0958 0207 946 0959').text).toBe('<PHONE> <PHONE>');
    expect(maskPii('card 4111 1111 1111 1112 typo').text).toBe('card <NUMBER> typo');
  });

  it('is idempotent on glued and shuffled fragments (seeded, deterministic)', () => {
    const pieces = [
      'john@x.com', 'https://a.b/c?d=1', 'DE89 3704 0044 0532 0130 00', '4111 1111 1111 1111', '+44 20 7946 0958',
      '(415) 555-2671', '192.168.0.1', '2001:db8::1', 'order #A12-3456', 'ticket 88231', '12345678', '2024-03-15',
      '10:30', '$1,250.00', 'PIN 1234', '2.3.1', '15.5%', 'j.doe.1984@mail.example.co.uk', '06 12 34 56 78',
      '4111 1111 1111 1112', 'x', 'é', '我', '<', '>', ',', '.', '-', '/', ':', '#', '@', '+', '(', ')', '0', '7',
    ];
    let seed = 11;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    for (let n = 0; n < 20_000; n++) {
      let s = '';
      for (let i = 0, k = 1 + Math.floor(rnd() * 6); i < k; i++) {
        s += pieces[Math.floor(rnd() * pieces.length)]! + (rnd() < 0.7 ? ' ' : '');
      }
      const once = maskPii(s).text;
      expect(maskPii(once).text, JSON.stringify(s)).toBe(once);
    }
  });

  it('masks numbers written in other scripts\' digits once normalised, as the pipeline masks', () => {
    // Arabic-Indic, Persian and Devanagari digits passed the rules (ASCII digits) unmasked, a Luhn card too.
    const masked = (t: string) => maskPii(normalizeText(t)).text;
    expect(masked('اتصل بي على ٠٧٧٠٠٩٠٠١٢٣')).toBe('اتصل بي على <PHONE>');
    expect(masked('call ۰۹۱۲۳۴۵۶۷۸۹')).toBe('call <PHONE>');
    expect(masked('कॉल करें ०९८७६५४३२१०')).toBe('कॉल करें <PHONE>');
    expect(masked('card ٤١١١١١١١١١١١١١١١')).toBe('card <CARD>');
  });

  it('masks what sits beside "<" or ">" (HTML mail, quoted replies, arrows); only its own placeholders count as a word', () => {
    expect(
      ['<td>john.doe@example.com</td>', '<td>4111111111111111</td>', '<td>+44 7700 900123</td>', 'Contact: john.doe@example.com<br>Thanks', 'phone->07700900123', '<b>192.168.1.20</b>', '> 07700 900123', 'https://x.example/a<br>'].map(
        (x) => pipeline(x).text,
      ),
    ).toEqual(['<td><EMAIL></td>', '<td><CARD></td>', '<td><PHONE></td>', 'Contact: <EMAIL><br>Thanks', 'phone-><PHONE>', '<b><IP></b>', '> <PHONE>', '<URL><br>']);
    // Glued to a placeholder, digits were glued to what it replaced: no new boundary, so masking twice changes nothing.
    for (const x of ['ticket <ORDER_ID>12345678', '<EMAIL>4111111111111111', '<URL>07700 900123']) expect(pipeline(x).text).toBe(x);
    // Every placeholder of the built-in rules is one the boundaries know.
    const used = new Set(defaultMaskRules.flatMap((r) => [...(r.replacement ?? '').matchAll(/<([A-Z_]+)>/g)].map((m) => m[1]!)));
    expect([...used].sort()).toEqual([...PLACEHOLDERS].sort());
  });

  it('masks numbers and addresses that invisible characters or Unicode dashes disguise, and phones glued to their label', () => {
    expect(
      ['mail john.doe@exa\u200dmple.com', 'card 4111\u200c1111\u200c1111\u200c1111', 'call 07700\u061c900123', 'call 0770\ufe0f0 900123', 'call 415\u2011555\u20112671', 'call 415\u2012555\u20122671', 'call 415\u2212555\u22122671', 'card 4111\u20131111\u20131111\u20131111', 'card \u0664\u0661\u0661\u0661\u2013\u0661\u0661\u0661\u0661\u2013\u0661\u0661\u0661\u0661\u2013\u0661\u0661\u0661\u0661', 'Tel:030-901820', 'mobile:07700 900123', 'phone#07700 900123', 'nr.0170 1234567'].map(
        (x) => pipeline(x).text,
      ),
    ).toEqual(['mail <EMAIL>', 'card <CARD>', 'call <PHONE>', 'call <PHONE>', 'call <PHONE>', 'call <PHONE>', 'call <PHONE>', 'card <CARD>', 'card <CARD>', 'Tel:<PHONE>', 'mobile:<PHONE>', 'phone#<PHONE>', 'nr.<PHONE>']);
    // Times, versions and decimals glued to a label are still no phones.
    for (const x of ['at:10:30', 'v.1234567', 'version 10.0.19045', 'p.3.5']) expect(pipeline(x).text).toBe(x);
  });

  it('masks a link without a scheme that has a path (an address bar copy carries its tokens), not units or abbreviations', () => {
    expect(['reset at example.com/reset?token=abc123XYZ now', 'see shop.example.co.uk/account/orders.', 'speed 100 km/h and/or 5 m/s', 'e.g./i.e. notes', 'version 1.2/3.4', 'It crashed.Restart/reinstall did not help'].map((x) => pipeline(x).text)).toEqual([
      'reset at <URL> now',
      'see <URL>.',
      'speed 100 km/h and/or 5 m/s',
      'e.g./i.e. notes',
      'version 1.2/3.4',
      'It crashed.Restart/reinstall did not help',
    ]);
  });

  it("masks an address with an apostrophe whole, and a phone after an id's keyword whole", () => {
    expect(["mary.o'brien@example.com", "'john@example.com'", 'account number 07700 900123', 'order 12345 2 items', 'ticket 88231DE89 arrived', 'order 4521987 100 EUR', 'invoice 98765 250 EUR refund'].map((x) => pipeline(x).text)).toEqual([
      '<EMAIL>',
      "'<EMAIL>'",
      'account number <PHONE>',
      'order <ORDER_ID> 2 items',
      'ticket <ORDER_ID> arrived',
      'order <ORDER_ID> 100 EUR',
      'invoice <ORDER_ID> 250 EUR refund',
    ]);
  });

  it('counts hits per rule and omits rules that did not fire', () => {
    const r = maskPii('a@b.com, c@d.org and 10.0.0.1');
    expect(r.hits).toEqual({ email: 2, ipv4: 1 });
    expect(maskPii('nothing to see')).toEqual({ text: 'nothing to see', hits: {} });
    expect(maskPii('')).toEqual({ text: '', hits: {} });
  });

  it('stays fast on a 2 MB hostile string of digits, dots, "@", spaces and separators', () => {
    // Linear patterns take ~0.1-0.3 s here; a backtracking blow-up would take minutes. The bound is loose
    // on purpose (slow CI), it only has to catch the blow-up.
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    for (const alphabet of ['0123456789.@', '0123456789 +()-.', '0123456789abcdef:.@ ']) {
      const chars: string[] = [];
      for (let i = 0; i < 2_000_000; i++) chars.push(alphabet[Math.floor(rnd() * alphabet.length)]!);
      const started = performance.now();
      maskPii(normalizeText(chars.join('')));
      expect(performance.now() - started).toBeLessThan(10_000);
    }
  }, 120_000);
});

describe('checksums', () => {
  it.each(['4111111111111111', '4111 1111 1111 1111', '5500-0000-0000-0004', '378282246310005', '6011111111111117', '79927398713'])(
    'luhnValid(%s)',
    (s) => expect(luhnValid(s)).toBe(true),
  );

  it.each(['4111111111111112', '1234567812345678', '79927398710', '0', ''])('not luhnValid(%s)', (s) => {
    expect(luhnValid(s)).toBe(false);
  });

  it.each([
    'DE89370400440532013000', 'DE89 3704 0044 0532 0130 00', 'GB29NWBK60161331926819', 'FR1420041010050500013M02606',
    'NL91ABNA0417164300', 'NO9386011117947', 'PL61109010140000071219812874', 'CH9300762011623852957',
  ])('ibanValid(%s)', (s) => expect(ibanValid(s)).toBe(true));

  it.each([
    ['DE89370400440532013001', 'bad checksum'],
    ['DE8937040044053201300', 'too short for DE'],
    ['de89370400440532013000', 'lower case'],
    ['GB29 NWBK 6016 1331 9268 1', 'truncated'],
    ['XX00', 'not an IBAN'],
  ])('not ibanValid(%s): %s', (s) => expect(ibanValid(s)).toBe(false));

  it('phoneLike keeps phones and drops amounts, versions, years and short runs', () => {
    for (const s of ['+44 20 7946 0958', '(415) 555-2671', '06 12 34 56 78', '+491701234567', '07700900123', '415.555.2671']) {
      expect(phoneLike(s), s).toBe(true);
    }
    for (const s of ['1 250 000', '1.250.000', '2019-2024', '10.0.19045', '22631.3155', '12345678', '555-12', '1 2 3 4 5 6 7', '+1 2345 6789 0123 4567']) {
      expect(phoneLike(s), s).toBe(false);
    }
    // Amounts with cents, years and a spaced date side by side are not phones (they steered cases to phone problems).
    for (const s of ['12.99 12.99', '100,50 200,75', '1999 2000 2001', '12 03 2024']) expect(phoneLike(s), s).toBe(false);
    expect(pipeline('charged twice 12.99 12.99 on 12 03 2024').text).toBe('charged twice 12.99 12.99 on 12 03 2024');
  });
});

describe('compileMaskRules', () => {
  it('adds config rules (data, JSON-serialisable) to the defaults', () => {
    const rules = compileMaskRules([{ name: 'employee_id', pattern: 'EMP-\\d{5}' }]);
    expect(maskPii('EMP-12345 called from +44 20 7946 0958', rules)).toEqual({
      text: '<EMPLOYEE_ID> called from <PHONE>',
      hits: { employee_id: 1, phone: 1 },
    });
  });

  it('runs extra rules before the numeric heuristics', () => {
    const rules = compileMaskRules([{ name: 'customer_id', pattern: 'CUST-\\d{8}', flags: 'i' }]);
    expect(maskPii('cust-12345678 at a@b.com', rules).text).toBe('<CUSTOMER_ID> at <EMAIL>');
  });

  it('replaces a default rule of the same name in place, and supports $<group> references', () => {
    const rules = compileMaskRules([
      { name: 'phone', pattern: '\\+\\d{6,14}', replacement: '<TEL>' },
      { name: 'badge', pattern: '(?<kw>badge )\\d{3}', replacement: '$<kw><BADGE>' },
    ]);
    expect(rules.rules.map((r) => r.name)).toEqual(['url', 'email', 'badge', 'iban', 'card', 'ipv6', 'ipv4', 'order_id', 'phone', 'number']);
    expect(maskPii('badge 123, +4930901820, $1,250.00', rules).text).toBe('badge <BADGE>, <TEL>, $1,250.00');
  });

  it('gives the same results for a JSON round trip of the defaults', () => {
    const copy = JSON.parse(JSON.stringify(defaultMaskRules)) as MaskRuleSpec[];
    const a = compileMaskRules();
    const b = compileMaskRules(copy);
    for (const c of golden.cases) expect(pipeline(c.input, b)).toEqual(pipeline(c.input, a));
    expect(Object.isFrozen(defaultMaskRules)).toBe(true);
  });

  it.each([
    ['a bad pattern', [{ name: 'bad', pattern: '(unclosed' }], /mask rule #1 "bad": invalid pattern/],
    ['a bad name', [{ name: 'Bad Name', pattern: 'x' }], /mask rule #1 "Bad Name": name must be snake_case/],
    ['a bad flag', [{ name: 'sticky', pattern: 'x', flags: 'y' }], /mask rule #1 "sticky": flags must use only/],
    ['an unknown check', [{ name: 'v', pattern: 'x', validate: 'md5' }], /"v": validate must be one of luhn, iban, phone/],
    ['an empty match', [{ name: 'empty', pattern: 'a*' }], /mask rule #1 "empty": pattern \/a\*\/ matches the empty string/],
    ['a duplicate', [{ name: 'ok', pattern: 'x' }, { name: 'ok', pattern: 'y' }], /mask rule #2 "ok": duplicate name/],
    ['a leaky replacement', [{ name: 'leaky', pattern: 'ID\\d+', replacement: '<ID 12345678>' }], /"leaky": replacement "<ID 12345678>" is masked again by "number"/],
    ['a missing group', [{ name: 'ref', pattern: '(a)b', replacement: '$2<REF>' }], /"ref": replacement refers to \$2, the pattern has 1 groups/],
    ['a missing named group', [{ name: 'ref', pattern: 'ab', replacement: '$<x><REF>' }], /"ref": replacement refers to \$<x>/],
    ['a non-object', [null], /mask rule #1: must be an object/],
  ])('rejects %s', (_label, extra, message) => {
    expect(() => compileMaskRules(extra as MaskRuleSpec[])).toThrow(message);
  });

  it('keeps hits keys safe for any snake_case name', () => {
    const rules = compileMaskRules([{ name: 'constructor', pattern: 'XYZ\\d' }]);
    expect(maskPii('XYZ1 XYZ2', rules).hits).toEqual({ constructor: 2 });
  });
});
