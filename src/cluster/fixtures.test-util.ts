import { Mulberry32 } from './prng.js';

// Synthetic support-like descriptions: each topic has its own vocabulary plus shared filler words.
const TOPICS = [
  ['card', 'arrive', 'delivery', 'post', 'week', 'waiting'],
  ['refund', 'merchant', 'return', 'money', 'back', 'purchase'],
  ['pin', 'blocked', 'locked', 'attempts', 'unblock', 'wrong'],
  ['transfer', 'pending', 'bank', 'account', 'arrived', 'recipient'],
  ['exchange', 'rate', 'currency', 'euro', 'dollar', 'fee'],
  ['password', 'reset', 'login', 'email', 'link', 'app'],
  ['topup', 'failed', 'declined', 'apple', 'pay', 'balance'],
  ['identity', 'verify', 'passport', 'photo', 'document', 'selfie'],
];
const FILLER = ['please', 'help', 'today', 'again', 'still', 'issue', 'problem', 'why', 'my', 'the'];

export interface SyntheticDoc {
  topic: number;
  tokens: string[];
  text: string;
}

export function syntheticDocs(n: number, seed: number, topics = TOPICS.length): SyntheticDoc[] {
  const rng = new Mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
  return Array.from({ length: n }, () => {
    const topic = Math.floor(rng.next() * topics);
    const words = [pick(TOPICS[topic]!), pick(TOPICS[topic]!), pick(TOPICS[topic]!), pick(FILLER)];
    if (rng.next() < 0.5) words.push(pick(TOPICS[topic]!));
    return { topic, tokens: words, text: words.join(' ') };
  });
}

/** Random junk documents: mostly unique words, to stress caps. */
export function junkDocs(n: number, seed: number): string[][] {
  const rng = new Mulberry32(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: 2 + Math.floor(rng.next() * 4) }, () => `w${Math.floor(rng.next() * 50_000).toString(36)}`),
  );
}
