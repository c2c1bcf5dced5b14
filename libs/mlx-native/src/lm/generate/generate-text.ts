import type { LanguageModel } from '../language-model';
import type { ModelTokenizer } from '../../text/model-tokenizer';
import type { SequenceOptions } from '../engine/sequence';
import type { GeneratedToken, GenerationFinished, TokenGenerationEvent } from './events';
import { generateTokens, type TokenGenerationOptions } from './generate-tokens';
import { GenerationClock } from './generation-clock';
import { StopSequenceMatcher } from './stop-sequences';

export interface TextGenerationOptions extends TokenGenerationOptions {
  /** Generation ends when the text contains one of these; the sequence and what follows are not emitted. */
  stop?: readonly string[];
  /** Leave special tokens out of the text (default true). */
  skipSpecialTokens?: boolean;
}

export interface GeneratedText extends GeneratedToken {
  /** Text that became final with this token; '' while a character or a possible stop sequence is incomplete. */
  readonly text: string;
}

export interface TextGenerationFinished extends GenerationFinished {
  /** Text held back until the end (the start of a stop sequence that never completed); append it. */
  readonly text: string;
}

export type GenerationEvent = GeneratedText | TextGenerationFinished;

/**
 * Generates text: {@link generateTokens} plus streaming detokenization and stop sequences.
 * EOS ids are the tokenizer's together with `options.eosTokenIds` (config.json and
 * generation_config.json list more, e.g. Llama 3's `<|eom_id|>`).
 */
export function generateText(
  model: LanguageModel,
  tokenizer: ModelTokenizer,
  promptIds: readonly number[],
  options: TextGenerationOptions = {},
  signal?: AbortSignal,
): AsyncGenerator<GenerationEvent> {
  const tokens = generateTokens(model, promptIds, { ...options, ...tokenizerLimits(tokenizer, options) }, signal);
  return tokensToText(tokens, tokenizer, promptIds.length, options);
}

/** The tokenizer's EOS ids added to the options', and sampling kept within the tokenizer's vocabulary. */
export function tokenizerLimits(tokenizer: ModelTokenizer, options: SequenceOptions): Pick<SequenceOptions, 'eosTokenIds' | 'sampleVocabSize'> {
  return {
    eosTokenIds: [...new Set([...tokenizer.eosTokenIds, ...(options.eosTokenIds ?? [])])],
    sampleVocabSize: Math.min(options.sampleVocabSize ?? tokenizer.vocabSize, tokenizer.vocabSize),
  };
}

/** Turns one sequence's token events into text events: streaming detokenization and stop sequences. */
export async function* tokensToText(
  tokens: AsyncIterable<TokenGenerationEvent>,
  tokenizer: ModelTokenizer,
  promptTokens: number,
  options: Pick<TextGenerationOptions, 'stop' | 'skipSpecialTokens'>,
): AsyncGenerator<GenerationEvent> {
  const clock = new GenerationClock();
  const detokenizer = tokenizer.createStreamingDetokenizer({ skipSpecialTokens: options.skipSpecialTokens ?? true });
  const stops = new StopSequenceMatcher(options.stop ?? []);
  let completionTokens = 0;
  for await (const event of tokens) {
    if (event.type === 'done') {
      const scan = stops.push(detokenizer.flush());
      const finished = scan.stop === undefined ? event : { ...clock.finish('stop', promptTokens, completionTokens, scan.stop), cachedTokens: event.cachedTokens };
      yield { ...finished, text: scan.stop === undefined ? scan.emit + stops.flush() : scan.emit };
      return;
    }
    clock.firstToken();
    completionTokens++;
    const scan = stops.push(detokenizer.push(event.tokenId));
    yield { ...event, text: scan.emit };
    if (scan.stop !== undefined) {
      // Leaving the loop ends the token stream, so no further step is computed.
      yield { ...clock.finish('stop', promptTokens, completionTokens, scan.stop), text: '' };
      return;
    }
  }
}
