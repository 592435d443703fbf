import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultModelDir, MODELS, type ModelKind } from './index.js';
import { TokenizerConfigError, WordPieceTokenizer } from './wordpiece.js';

// Expected ids were produced by Hugging Face's reference tokenizer (@huggingface/tokenizers 0.2.0, which
// follows the Rust `tokenizers` crate) from all-MiniLM-L6-v2's tokenizer.json; the same tokenizer agreed
// with this one on all 13,083 Banking77 texts. bge-small and MiniLM share bert-base-uncased's vocabulary.

const candidates = (Object.keys(MODELS) as ModelKind[]).map((k) => join(defaultModelDir(k), 'tokenizer.json'));
const tokPath = candidates.find((p) => existsSync(p)) ?? candidates[0]!;
const present = existsSync(tokPath);
const why = present ? '' : ` [skipped: ${tokPath} absent — run bash scripts/fetch-model.sh]`;
if (!present) console.warn(`wordpiece.test: real-vocabulary cases skipped: ${tokPath} absent (run bash scripts/fetch-model.sh)`);

describe.skipIf(!present)(`WordPiece against ${tokPath}${why}`, () => {
  const tok = present ? WordPieceTokenizer.fromJson(JSON.parse(readFileSync(tokPath, 'utf8')), 128) : undefined!;
  const ids = (t: string): number[] => Array.from(tok.encode(t).ids);

  it('splits punctuation and wraps in [CLS] … [SEP]', () => {
    expect(ids('My card payment was declined, why?')).toEqual([101, 2026, 4003, 7909, 2001, 6430, 1010, 2339, 1029, 102]);
  });

  it('lower-cases, strips accents and splits subwords with ##', () => {
    // hello , world ! can ' t pay € ##50 at cafe zurich ?
    expect(ids("Héllo, WORLD! Can't pay €50 at Café Zürich?")).toEqual([
      101, 7592, 1010, 2088, 999, 2064, 1005, 1056, 3477, 1574, 12376, 2012, 7668, 10204, 1029, 102,
    ]);
    expect(ids('naïve résumé — “quoted” …')).toEqual([101, 15743, 13746, 1517, 1523, 9339, 1524, 1529, 102]);
  });

  it('pieces unknown words, pads CJK and maps what the vocabulary lacks to [UNK]', () => {
    // x ##y ##zzy ##q ##w ##v 中 文 [UNK] [UNK] [UNK]
    expect(ids('xyzzyqwv 中文字符 😀')).toEqual([101, 1060, 2100, 28753, 4160, 2860, 2615, 1746, 1861, 100, 100, 100, 102]);
  });

  it('treats every ASCII symbol as punctuation and drops control / zero-width characters', () => {
    expect(ids('I.B.A.N. DE89-3704 (expired)... $100.00 ^_^')).toEqual([
      101, 1045, 1012, 1038, 1012, 1037, 1012, 1050, 1012, 2139, 2620, 2683, 1011, 16444, 2549, 1006, 13735, 1007,
      1012, 1012, 1012, 1002, 2531, 1012, 4002, 1034, 1035, 1034, 102,
    ]);
    expect(ids('tab\there\nnew\u00a0line\u200bzero')).toEqual([101, 21628, 2182, 2047, 2240, 6290, 2080, 102]);
  });

  it('truncates to 128 tokens including [CLS] and [SEP]', () => {
    const e = tok.encode('refund '.repeat(200)); // refund = re ##fund… in this vocab: 25416 8630
    expect(e.ids.length).toBe(128);
    expect(e.fullLength).toBe(400);
    expect(Array.from(e.ids.slice(0, 3))).toEqual([101, 25416, 8630]);
    expect(Array.from(e.ids.slice(-3))).toEqual([25416, 8630, 102]);
  });
});

describe('WordPiece on a small vocabulary', () => {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'un', '##want', '##ed', 'want', ',', 'runn', '##ing', 'e'];
  const json = { model: { type: 'WordPiece', vocab: Object.fromEntries(vocab.map((t, i) => [t, i])) }, normalizer: { type: 'BertNormalizer' } };
  const tok = WordPieceTokenizer.fromJson(json, 8);
  const toks = (t: string): string[] => Array.from(tok.encode(t).ids, (i) => vocab[i]!);

  it('matches longest pieces first, as in the BERT paper example', () => {
    expect(toks('UNwanted,running')).toEqual(['[CLS]', 'un', '##want', '##ed', ',', 'runn', '##ing', '[SEP]']);
  });

  it('turns a whole word into [UNK] when any piece is missing', () => {
    expect(toks('wantx want')).toEqual(['[CLS]', '[UNK]', 'want', '[SEP]']);
  });

  it('strips accents when lower-casing', () => {
    expect(toks('É')).toEqual(['[CLS]', 'e', '[SEP]']);
  });

  it('truncates to the configured length', () => {
    expect(toks('want want want want want want want')).toEqual(['[CLS]', ...Array(6).fill('want'), '[SEP]']);
  });

  it('rejects a non-WordPiece tokenizer.json naming the key', () => {
    expect(() => WordPieceTokenizer.fromJson({ model: { type: 'BPE', vocab: {} } })).toThrow(TokenizerConfigError);
    expect(() => WordPieceTokenizer.fromJson({ model: { type: 'BPE', vocab: {} } })).toThrow(/model\.type/);
  });
});
