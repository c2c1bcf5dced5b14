import type { StepGate } from '../../runtime/step-gate';
import type { LanguageModel } from '../language-model';
import { BatchEngine } from '../engine/batch-engine';
import type { SequenceOptions } from '../engine/sequence';
import type { TokenGenerationEvent } from './events';

export interface TokenGenerationOptions extends SequenceOptions {
  /** Prompt tokens per forward pass while prefilling; bounds the memory a long prompt needs. Default 512. */
  prefillChunkSize?: number;
  /** Turn-taking with the other work of the process (see FairStepScheduler); none: event-loop order. */
  stepGate?: StepGate;
}

/**
 * Generates token ids from a prompt, one event per token, ending with a `done` event: one sequence
 * on an engine of its own (see {@link BatchEngine}; servers share one engine per model instead).
 * Invalid options (`InvalidGenerationOptionsError`) and a prompt that does not fit
 * (`ContextLengthExceededError`) are thrown by the first `next()`, before any model work.
 *
 * Every step waits for a macrotask: MLX frees native arrays only from garbage-collection
 * finalizers, which run when the event loop turns, and an aborted `signal` can only be seen
 * then. Generation therefore stops at most one step after the signal fires.
 */
export async function* generateTokens(
  model: LanguageModel,
  promptIds: readonly number[],
  options: TokenGenerationOptions = {},
  signal?: AbortSignal,
): AsyncGenerator<TokenGenerationEvent> {
  const { prefillChunkSize, stepGate, ...sequence } = options;
  const engine = new BatchEngine(model, { prefillChunkSize, gate: stepGate });
  const [stream] = engine.submit({ promptIds, forks: [sequence], caller: '', signal }).streams;
  yield* stream;
}
