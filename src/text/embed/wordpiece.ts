// BERT WordPiece tokenizer, as the Hugging Face `tokenizers` BertNormalizer + BertPreTokenizer + WordPiece +
// [CLS]/[SEP] template read from a tokenizer.json (https://huggingface.co/docs/tokenizers/components).
// Pure: takes the parsed JSON, does no I/O.

export interface WordPieceConfig {
  vocab: ReadonlyMap<string, number>;
  lowercase: boolean;
  /** BERT strips accents whenever it lower-cases unless told otherwise. */
  stripAccents: boolean;
  cleanText: boolean;
  handleChineseChars: boolean;
  unkToken: string;
  prefix: string;
  maxInputCharsPerWord: number;
  maxLength: number;
}

export interface Encoding {
  ids: Int32Array;
  /** Tokens before truncation (without [CLS]/[SEP]); > ids.length - 2 means the text was truncated. */
  fullLength: number;
}

export class TokenizerConfigError extends Error {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
    this.name = 'TokenizerConfigError';
  }
}

interface TokenizerJson {
  normalizer?: { type?: string; lowercase?: boolean; strip_accents?: boolean | null; clean_text?: boolean; handle_chinese_chars?: boolean } | null;
  truncation?: { max_length?: number } | null;
  model?: { type?: string; vocab?: Record<string, number>; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number };
}

/** Reads the parts of a tokenizer.json this tokenizer supports; anything else is a precise config error. */
export function wordPieceConfigFromJson(json: unknown, maxLength?: number): WordPieceConfig {
  const t = json as TokenizerJson;
  const m = t.model;
  if (m?.type !== 'WordPiece') throw new TokenizerConfigError(`model.type must be "WordPiece", got ${JSON.stringify(m?.type)}`, 'model.type');
  if (m.vocab === undefined || typeof m.vocab !== 'object') throw new TokenizerConfigError('model.vocab is missing', 'model.vocab');
  const n = t.normalizer;
  if (n != null && n.type !== 'BertNormalizer') throw new TokenizerConfigError(`normalizer.type must be "BertNormalizer", got ${JSON.stringify(n.type)}`, 'normalizer.type');
  const lowercase = n?.lowercase ?? true;
  const len = maxLength ?? t.truncation?.max_length ?? 512;
  if (!Number.isInteger(len) || len < 3) throw new TokenizerConfigError(`max length must be an integer ≥ 3, got ${len}`, 'truncation.max_length');
  return {
    vocab: new Map(Object.entries(m.vocab)),
    lowercase,
    stripAccents: n?.strip_accents ?? lowercase,
    cleanText: n?.clean_text ?? true,
    handleChineseChars: n?.handle_chinese_chars ?? true,
    unkToken: m.unk_token ?? '[UNK]',
    prefix: m.continuing_subword_prefix ?? '##',
    maxInputCharsPerWord: m.max_input_chars_per_word ?? 100,
    maxLength: len,
  };
}

function isControl(cp: number): boolean {
  if (cp === 0x09 || cp === 0x0a || cp === 0x0d) return false;
  if (cp >= 0x20 && cp < 0x7f) return false;
  return /\p{C}/u.test(String.fromCodePoint(cp));
}

/** Rust's `char::is_whitespace` (the Unicode White_Space property), which `tokenizers` uses. */
function isWhitespace(cp: number): boolean {
  if (cp === 0x20 || cp === 0x09 || cp === 0x0a || cp === 0x0d) return true;
  return cp > 0x7f && /\p{White_Space}/u.test(String.fromCodePoint(cp));
}

/** BERT counts all non-alphanumeric ASCII as punctuation, plus Unicode P* categories. */
function isPunctuation(cp: number): boolean {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return cp > 0x7f && /\p{P}/u.test(String.fromCodePoint(cp));
}

function isChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const COMBINING_MARK = /\p{Mn}/gu;

export class WordPieceTokenizer {
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;

  constructor(readonly config: WordPieceConfig) {
    const id = (tok: string): number => {
      const v = config.vocab.get(tok);
      if (v === undefined) throw new TokenizerConfigError(`vocab has no ${tok} token`, 'model.vocab');
      return v;
    };
    this.clsId = id('[CLS]');
    this.sepId = id('[SEP]');
    this.padId = id('[PAD]');
    this.unkId = id(config.unkToken);
  }

  static fromJson(json: unknown, maxLength?: number): WordPieceTokenizer {
    return new WordPieceTokenizer(wordPieceConfigFromJson(json, maxLength));
  }

  /** BertNormalizer: drop control chars, unify whitespace, pad CJK, lower-case, strip accents (NFD minus Mn). */
  normalize(text: string): string {
    const c = this.config;
    let out = '';
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (c.cleanText) {
        if (cp === 0 || cp === 0xfffd || isControl(cp)) continue;
        if (isWhitespace(cp)) {
          out += ' ';
          continue;
        }
      }
      out += c.handleChineseChars && isChinese(cp) ? ` ${ch} ` : ch;
    }
    if (c.stripAccents) out = out.normalize('NFD').replace(COMBINING_MARK, '');
    if (c.lowercase) out = out.toLowerCase();
    return out;
  }

  /** BertPreTokenizer: split on whitespace, and every punctuation character is a word of its own. */
  preTokenize(normalized: string): string[] {
    const words: string[] = [];
    let cur = '';
    for (const ch of normalized) {
      const cp = ch.codePointAt(0)!;
      if (isWhitespace(cp)) {
        if (cur) words.push(cur);
        cur = '';
      } else if (isPunctuation(cp)) {
        if (cur) words.push(cur);
        words.push(ch);
        cur = '';
      } else cur += ch;
    }
    if (cur) words.push(cur);
    return words;
  }

  /** Greedy longest-match-first WordPiece; a word with any unmatchable piece becomes [UNK] whole. */
  wordPiece(word: string, out: number[]): void {
    const c = this.config;
    const chars = Array.from(word);
    if (chars.length > c.maxInputCharsPerWord) {
      out.push(this.unkId);
      return;
    }
    const start0 = out.length;
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (start < end) {
        const piece = (start > 0 ? c.prefix : '') + chars.slice(start, end).join('');
        found = c.vocab.get(piece);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) {
        out.length = start0;
        out.push(this.unkId);
        return;
      }
      out.push(found);
      start = end;
    }
  }

  /** Token ids without special tokens, untruncated. */
  tokenIds(text: string): number[] {
    const ids: number[] = [];
    for (const w of this.preTokenize(this.normalize(text))) this.wordPiece(w, ids);
    return ids;
  }

  /** [CLS] tokens… [SEP], truncated on the right to maxLength. */
  encode(text: string): Encoding {
    const body = this.tokenIds(text);
    const keep = Math.min(body.length, this.config.maxLength - 2);
    const ids = new Int32Array(keep + 2);
    ids[0] = this.clsId;
    for (let i = 0; i < keep; i++) ids[i + 1] = body[i]!;
    ids[keep + 1] = this.sepId;
    return { ids, fullLength: body.length };
  }
}
