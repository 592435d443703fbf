import { describe, expect, it } from 'vitest';
import { ExpansionError, normalizeText, oneLine, truncateUtf8 } from './normalize.js';

describe('normalizeText', () => {
  it.each([
    ['NFKC folds compatibility forms', 'ＡＢＣ　１２３ ﬁle ① ™', 'ABC 123 file 1 TM'],
    ['keeps case and punctuation', 'My Card Was DECLINED?!', 'My Card Was DECLINED?!'],
    ['turns controls into spaces', 'a\u0000b\u0007c\u007fd\u0085e', 'a b c d e'],
    ['collapses a tab to a space', 'a\tb \t c', 'a b c'],
    ['collapses Unicode spaces', 'a\u00a0b\u2003c\u3000d\u202fe', 'a b c d e'],
    ['keeps one newline per line-break run', 'a  \n \n  b\r\nc\rd', 'a\nb\nc d'],
    ['treats LS/PS as line breaks', 'a\u2028b\u2029\u2029c', 'a\nb\nc'],
    ['trims every kind of edge whitespace', ' \n\t\u00a0 text \u3000\n ', 'text'],
    ['drops zero-width, soft hyphen, BOM and bidi controls', '\ufeffpass\u200bw\u00adord \u202eevil\u202c', 'password evil'],
    ['keeps ZWJ emoji sequences and flags', 'family 👨‍👩‍👧 in 🇪🇸 😡', 'family 👨‍👩‍👧 in 🇪🇸 😡'],
    ['keeps scripts intact', 'Überweisung — 注文番号 — рубль — رقم', 'Überweisung — 注文番号 — рубль — رقم'],
    ['composes decomposed accents', 'cafe\u0301', 'café'],
    ['writes other scripts\' digits as ASCII digits', 'اتصل ٠٧٧٠٠٩٠٠١٢٣ · ۰۹۱۲ · ०९८७ · ௧௨௩ · 𝟗𝟖', 'اتصل 07700900123 · 0912 · 0987 · 123 · 98'],
    ['returns empty for whitespace only', ' \t\n\u0000 ', ''],
  ])('%s', (_name, input, expected) => {
    expect(normalizeText(input)).toBe(expected);
  });

  it('drops joiners and variation selectors beside ASCII, where they only hide a word, and keeps them in emoji and Indic spelling', () => {
    expect(normalizeText('john@exa\u200dmple.com 4111\u200c1111 a\ufe0fb x\u061cy z\u034fw t\udb40\udc41u')).toBe('john@example.com 41111111 ab xy zw tu');
    const kept = ['👨\u200d👩\u200d👧', 'क्\u200dष', 'می\u200cخواهم', '❤\ufe0f', '❤\ufe0f thanks', 'press 1\ufe0f\u20e3 now'];
    for (const k of kept) expect(normalizeText(k)).toBe(k.normalize('NFKC'));
  });

  it('writes a dash between digits as "-" and leaves prose dashes alone', () => {
    expect(normalizeText('415\u2011555\u20122671 4111\u20131111 7\u22123 a \u2014 b 1990\u20142000')).toBe('415-555-2671 4111-1111 7-3 a \u2014 b 1990-2000');
  });

  it('leaves clean ASCII as it is', () => {
    const s = 'How do I activate my new card?';
    expect(normalizeText(s)).toBe(s);
  });

  it.each([
    ['double inner space', 'my  card', 'my card'],
    ['leading space', ' my card', 'my card'],
    ['trailing space', 'my card ', 'my card'],
    ['a DEL inside', 'my\u007fcard', 'my card'],
    ['a lone space', ' ', ''],
    ['empty', '', ''],
  ])('takes the full path for ASCII that only looks clean: %s', (_name, input, expected) => {
    expect(normalizeText(input)).toBe(expected);
  });

  it('is idempotent', () => {
    for (const s of ['a\r\n\r\n b', 'ＡＢＣ  ①', '\u202e x \u0000 y', ' 👨‍👩‍👧\t\tz ', 'x\u00a0\n\u00a0y']) {
      const once = normalizeText(s);
      expect(normalizeText(once)).toBe(once);
    }
  });

  it('is linear on long whitespace runs', () => {
    const s = `a${' \t'.repeat(1_000_000)}b${'\n '.repeat(1_000_000)}c`;
    const started = performance.now();
    expect(normalizeText(s)).toBe('a b\nc');
    expect(performance.now() - started).toBeLessThan(10_000); // ~50 ms; only catches a blow-up
  }, 60_000);
});

describe('truncateUtf8', () => {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

  it.each([
    ['hello', 5, 'hello'],
    ['hello', 3, 'hel'],
    ['héllo', 2, 'h'],
    ['héllo', 3, 'hé'],
    ['注文番号', 7, '注文'],
    ['a😀b', 4, 'a'],
    ['a😀b', 5, 'a😀'],
    ['a😀b', 6, 'a😀b'],
    ['anything', 0, ''],
    ['', 10, ''],
  ])('truncateUtf8(%j, %i) = %j', (s, max, expected) => {
    expect(truncateUtf8(s, max)).toBe(expected);
  });

  it('never splits a surrogate pair, never exceeds the budget and keeps the longest fitting prefix', () => {
    const alphabet = ['a', 'é', '€', '注', '😀', '👨‍👩‍👧', '\ud800', '\udc00'];
    let seed = 3;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    for (let n = 0; n < 500; n++) {
      let s = '';
      for (let i = 0; i < 1 + Math.floor(rnd() * 20); i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      const max = Math.floor(rnd() * (bytes(s) + 2));
      const out = truncateUtf8(s, max);
      expect(s.startsWith(out)).toBe(true);
      expect(bytes(out)).toBeLessThanOrEqual(max);
      const last = out.charCodeAt(out.length - 1);
      const next = s.charCodeAt(out.length);
      expect(last >= 0xd800 && last <= 0xdbff && next >= 0xdc00 && next <= 0xdfff).toBe(false);
      if (out.length < s.length) {
        const step = next >= 0xd800 && next <= 0xdbff && (s.charCodeAt(out.length + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
        expect(bytes(s.slice(0, out.length + step))).toBeGreaterThan(max);
      }
    }
  });

  it.each([-1, 1.5, Number.NaN])('rejects maxBytes %d', (max) => {
    expect(() => truncateUtf8('abc', max)).toThrow(RangeError);
  });
});

describe('normalizeText expansion bound', () => {
  it('refuses a text that grows more than MAX_EXPANSION times under NFKC, and keeps ordinary growth', () => {
    expect(() => normalizeText('\uFDFA'.repeat(1000))).toThrow(ExpansionError);
    expect(() => normalizeText('\uFDFA'.repeat(1000))).toThrow(/grows from 1000 to 18000 characters under Unicode normalisation/);
    // Ligatures and squared words: two and four letters each.
    expect(normalizeText('\uFB01'.repeat(1000))).toBe('fi'.repeat(1000));
    expect(normalizeText('\u337F'.repeat(1000))).toHaveLength(4000);
    // A short text has room: one U+FDFA in a sentence.
    expect(normalizeText('pay \uFDFA')).toMatch(/^pay /);
    // A status note is printed, not refused: shown without NFKC, on one line.
    expect(oneLine(`fixed\n${'\uFDFA'.repeat(1000)}`)).toBe(`fixed ${'\uFDFA'.repeat(1000)}`);
  });
});
