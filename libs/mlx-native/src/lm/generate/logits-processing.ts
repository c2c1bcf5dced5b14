import { core as mx } from '@frost-beta/mlx';
import { requireOption } from './errors';

/**
 * Rewrites the next-token logits each step, e.g. to mask tokens a grammar forbids.
 * `generated` holds the completion's token ids so far (prompt excluded); `logits` is 1-D
 * [vocab] float32. Return a new array of the same shape (-Infinity removes a token).
 */
export type LogitsProcessor = (generated: readonly number[], logits: mx.array) => mx.array;

/** Changes to the logits before sampling; every one of them is visible in the reported logprobs. */
export interface LogitsProcessingOptions {
  /** Multiplicative penalty on tokens of the recent context (mlx-lm / CTRL): > 1 discourages repeats. */
  repetitionPenalty?: number;
  /** How many of the latest tokens (prompt and completion) the repetition penalty looks at. Default 20, as mlx-lm. */
  repetitionContextSize?: number;
  /** OpenAI: subtracted once from every token that already occurs in the completion. */
  presencePenalty?: number;
  /** OpenAI: subtracted once per occurrence of the token in the completion. */
  frequencyPenalty?: number;
  /** OpenAI: token id → bias added to its logit. */
  logitBias?: Readonly<Record<number, number>>;
  /** Applied last, after biases and penalties, so their masks are final. */
  logitsProcessors?: readonly LogitsProcessor[];
}

/**
 * Builds the per-step logits transformation of one request: logit bias, repetition penalty,
 * presence and frequency penalties, then the caller's processors (mlx-lm's order). Each works
 * on the few token ids concerned, never on a vocabulary-sized host array.
 */
export function createLogitsPipeline(
  options: LogitsProcessingOptions,
  promptIds: readonly number[],
  vocabSize: number,
): LogitsProcessor {
  const steps: LogitsProcessor[] = [];

  const biasEntries = Object.entries(options.logitBias ?? {}).map(([id, bias]) => [Number(id), bias] as const);
  if (biasEntries.length > 0) {
    for (const [id, bias] of biasEntries) {
      requireOption(Number.isInteger(id) && id >= 0 && id < vocabSize, `logitBias has token id ${id}, outside the vocabulary (0..${vocabSize - 1})`);
      requireOption(Number.isFinite(bias), `logitBias for token ${id} must be a finite number`);
    }
    const ids = biasEntries.map(([id]) => id);
    const biases = biasEntries.map(([, bias]) => bias);
    // Fresh index arrays every step: the binding crashes (SIGSEGV) when one index array is reused by a second `at().add()`.
    steps.push((_, logits) => logits.at(mx.array(ids, mx.int32)).add(mx.array(biases, mx.float32)));
  }

  const repetitionPenalty = options.repetitionPenalty ?? 1;
  const contextSize = options.repetitionContextSize ?? 20;
  requireOption(repetitionPenalty > 0 && Number.isFinite(repetitionPenalty), 'repetitionPenalty must be a number > 0');
  requireOption(Number.isInteger(contextSize) && contextSize > 0, 'repetitionContextSize must be an integer > 0');
  if (repetitionPenalty !== 1) {
    const promptTail = promptIds.slice(-contextSize);
    steps.push((generated, logits) => {
      const recent = new Set([...promptTail, ...generated.slice(-contextSize)].slice(-contextSize));
      if (recent.size === 0) {
        return logits;
      }
      const ids = mx.array([...recent], mx.int32);
      const selected = mx.take(logits, ids);
      // Sign-aware so that the penalty always lowers the probability: a negative logit grows more negative.
      const factor = mx.where(mx.less(selected, 0), repetitionPenalty, 1 / repetitionPenalty);
      return logits.at(ids).multiply(factor);
    });
  }

  const presence = options.presencePenalty ?? 0;
  const frequency = options.frequencyPenalty ?? 0;
  requireOption(Number.isFinite(presence) && Number.isFinite(frequency), 'presencePenalty and frequencyPenalty must be finite numbers');
  if (presence !== 0 || frequency !== 0) {
    // `generated` only grows during a request, so counts are kept up to date incrementally.
    const counts = new Map<number, number>();
    let counted = 0;
    steps.push((generated, logits) => {
      for (; counted < generated.length; counted++) {
        counts.set(generated[counted], (counts.get(generated[counted]) ?? 0) + 1);
      }
      if (counts.size === 0) {
        return logits;
      }
      const ids = mx.array([...counts.keys()], mx.int32);
      const penalties = mx.array([...counts.values()].map((count) => presence + frequency * count), mx.float32);
      return logits.at(ids).subtract(penalties);
    });
  }

  steps.push(...(options.logitsProcessors ?? []));
  return (generated, logits) => steps.reduce((current, step) => step(generated, current), logits);
}
