import { core as mx } from '@frost-beta/mlx';
import { InvalidGenerationOptionsError } from './errors';
import { createLogitsPipeline, type LogitsProcessingOptions } from './logits-processing';

const LOGITS = [2, -2, 1, 0.5, -1];

function run(options: LogitsProcessingOptions, generated: number[] = [], prompt: number[] = []): number[] {
  const pipeline = createLogitsPipeline(options, prompt, LOGITS.length);
  return pipeline(generated, mx.array(LOGITS, mx.float32)).tolist() as number[];
}

describe('createLogitsPipeline', () => {
  test('no options leave the logits alone', () => {
    expect(run({}, [0, 1])).toEqual(LOGITS);
  });

  test('logit bias adds to the named tokens', () => {
    expect(run({ logitBias: { 1: 5, 4: -100 } })).toEqual([2, 3, 1, 0.5, -101]);
  });

  test('logit bias holds over many steps of one request (the pipeline is reused every step)', () => {
    const pipeline = createLogitsPipeline({ logitBias: { 2: 10 } }, [], LOGITS.length);
    for (let step = 0; step < 4; step++) {
      expect(pipeline([], mx.array(LOGITS, mx.float32)).tolist()).toEqual([2, -2, 11, 0.5, -1]);
    }
  });

  test('repetition penalty divides positive and multiplies negative logits of recent tokens', () => {
    // Token 0 (logit 2) and 1 (logit -2) were seen, once in the prompt and twice in the completion.
    expect(run({ repetitionPenalty: 2 }, [1, 1], [0])).toEqual([1, -4, 1, 0.5, -1]);
  });

  test('repetition penalty only looks at the last repetitionContextSize tokens', () => {
    expect(run({ repetitionPenalty: 2, repetitionContextSize: 2 }, [3, 2], [0])).toEqual([2, -2, 0.5, 0.25, -1]);
    expect(run({ repetitionPenalty: 2, repetitionContextSize: 2 }, [], [0, 4, 3])).toEqual([2, -2, 1, 0.25, -2]);
  });

  test('presence and frequency penalties follow OpenAI: presence once, frequency per occurrence, completion only', () => {
    expect(run({ presencePenalty: 0.5, frequencyPenalty: 0.25 }, [2, 2, 2, 3], [0])).toEqual([2, -2, -0.25, -0.25, -1]);
  });

  test('penalty counts follow the completion as it grows', () => {
    const pipeline = createLogitsPipeline({ frequencyPenalty: 1 }, [], LOGITS.length);
    const generated: number[] = [];
    const at = (): number[] => pipeline(generated, mx.array(LOGITS, mx.float32)).tolist() as number[];
    generated.push(0);
    expect(at()[0]).toBe(1);
    generated.push(0);
    expect(at()[0]).toBe(0);
  });

  test('logits processors run last, on the generated tokens, and can mask', () => {
    const seen: number[][] = [];
    const maskTokenZero = (generated: readonly number[], logits: mx.array): mx.array => {
      seen.push([...generated]);
      return mx.where(mx.equal(mx.arange(LOGITS.length), 0), -Infinity, logits);
    };
    const result = run({ logitBias: { 0: 100 }, logitsProcessors: [maskTokenZero] }, [3], [1]);
    expect(result[0]).toBe(-Infinity);
    expect(seen).toEqual([[3]]);
  });

  test.each<[LogitsProcessingOptions, RegExp]>([
    [{ logitBias: { 5: 1 } }, /outside the vocabulary/],
    [{ logitBias: { 1: Number.NaN } }, /finite/],
    [{ repetitionPenalty: 0 }, /repetitionPenalty/],
    [{ repetitionPenalty: 1.1, repetitionContextSize: 0 }, /repetitionContextSize/],
    [{ presencePenalty: Infinity }, /presencePenalty/],
  ])('rejects %j', (options, message) => {
    expect(() => createLogitsPipeline(options, [], LOGITS.length)).toThrow(InvalidGenerationOptionsError);
    expect(() => createLogitsPipeline(options, [], LOGITS.length)).toThrow(message);
  });
});
