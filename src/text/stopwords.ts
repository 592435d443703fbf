// English stop words for short support texts. Based on the NLTK/Snowball English lists, minus the
// negations ("not", "no", "nor", "never", "cannot"): "card not received" and "card received" are
// different problems. Contractions ending in n't are mapped to "not" by the tokenizer.
const WORDS = `
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just let me more
most my myself of off on once only or other ought our ours ourselves out over own same shall she should
so some such than that the their theirs them themselves then there these they this those through to
too under until up very was we were what when where which while who whom why will with would you your
yours yourself yourselves also am anyone anything etc get got hello hi hey please thanks thank ok okay
im ive id ill youre youve whats thats theres ll re ve
`;

/** The default English stop-word set (lower case, unstemmed). */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set(WORDS.split(/\s+/).filter((w) => w.length > 0));

/** Words that flip meaning; kept even when a caller passes a custom stop list that contains them. */
export const NEGATIONS: ReadonlySet<string> = new Set(['not', 'no', 'nor', 'never', 'cannot']);
