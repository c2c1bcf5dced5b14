import { core as mx } from '@frost-beta/mlx';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { deflateSync } from 'node:zlib';
import { CHUNK_SECONDS } from '../audio/constants';
import { gated, type StepGate } from '../runtime/step-gate';
import type { DecoderState, WhisperModel } from './model';
import type { WhisperTask, WhisperTokenizer } from './tokenizer';

export interface WindowDecodingOptions {
  task: WhisperTask;
  language: string;
  temperature: number;
  /** Earlier tokens the window is conditioned on (after `<|startofprev|>`); the last n_text_ctx/2 − 1 are used. */
  prompt: readonly number[];
  /** Latest allowed first timestamp, in seconds (openai/whisper's max_initial_timestamp). */
  maxInitialTimestamp?: number;
  gate?: StepGate;
  signal?: AbortSignal;
}

/** One window's decoding, as openai/whisper's DecodingResult. */
export interface WindowDecoding {
  /** Sampled tokens, timestamps included, end-of-text excluded. */
  tokens: number[];
  text: string;
  /** Sum of the sampled tokens' log-probabilities (end-of-text included) over their count plus one. */
  avgLogprob: number;
  /** Probability of `<|nospeech|>` right after start-of-transcript. */
  noSpeechProb: number;
  temperature: number;
  compressionRatio: number;
}

/** zlib's compression ratio of the text: repetitive (looping) output compresses well. */
export function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length / deflateSync(bytes).length;
}

/** Half-open token-id ranges [from, to) to mask. */
type Ranges = Array<readonly [number, number]>;

/**
 * openai/whisper's ApplyTimestampRules, for the tokens sampled so far: timestamps come in pairs
 * (after one, the next is a timestamp or end-of-text; after two, text), never go back (and a
 * segment that closes with the timestamp it opened with is not allowed, or decoding could loop),
 * and the first token is a timestamp no later than `maxInitialIndex`.
 */
export function timestampRuleRanges(sampled: readonly number[], eot: number, timestampBegin: number, vocab: number, maxInitialIndex: number | undefined): Ranges {
  const ranges: Ranges = [];
  const isTimestamp = (token: number) => token >= timestampBegin;
  const lastWasTimestamp = sampled.length >= 1 && isTimestamp(sampled[sampled.length - 1]);
  const penultimateWasTimestamp = sampled.length < 2 || isTimestamp(sampled[sampled.length - 2]);
  if (lastWasTimestamp) {
    ranges.push(penultimateWasTimestamp ? [timestampBegin, vocab] : [0, eot]);
  }
  const timestamps = sampled.filter(isTimestamp);
  if (timestamps.length > 0) {
    const last = timestamps[timestamps.length - 1];
    // A closing timestamp may equal the opening one's value; anything else must move forward.
    const lowestAllowed = lastWasTimestamp && !penultimateWasTimestamp ? last : last + 1;
    ranges.push([timestampBegin, lowestAllowed]);
  }
  if (sampled.length === 0) {
    ranges.push([0, timestampBegin]);
    if (maxInitialIndex !== undefined) {
      ranges.push([timestampBegin + maxInitialIndex + 1, vocab]);
    }
  }
  return ranges;
}

/**
 * Decodes 30-second windows of one model the way mlx_whisper's DecodingTask does, with
 * openai/whisper's timestamp rules: suppress-blank at the first step, the non-speech and control
 * tokens suppressed throughout, the timestamp rules, and a forced timestamp whenever the timestamps'
 * total probability beats the best text token (computed after every other mask). Masks are built
 * on the device from token-id ranges, so a step moves only the chosen token and its log-probability
 * to the host.
 */
export class WindowDecoder {
  private readonly ids: mx.array;
  private readonly suppress: mx.array;
  private readonly blank: mx.array;
  private readonly vocab: number;

  constructor(
    private readonly model: WhisperModel,
    private readonly tokenizer: WhisperTokenizer,
  ) {
    const { eot, transcribe, translate, sot, sotPrev, sotLm, noSpeech, noTimestamps } = tokenizer.special;
    this.vocab = model.dims.nVocab;
    this.ids = mx.arange(0, this.vocab, 1, mx.int32);
    this.suppress = this.tokenMask([...tokenizer.nonSpeechTokens, transcribe, translate, sot, sotPrev, sotLm, noSpeech, noTimestamps]);
    this.blank = this.tokenMask([...tokenizer.encode(' '), eot]);
  }

  /** The most probable language of the audio: the language token the model predicts after start-of-transcript. */
  async detectLanguage(audio: mx.array, gate?: StepGate): Promise<{ language: string; probabilities: Record<string, number> }> {
    const { sot, numLanguages } = this.tokenizer.special;
    const probs = await gated(gate, () => {
      const logits = this.model.decoder.forward([sot], this.model.decoder.newState(audio), [0]).index(0);
      const masked = mx.where(this.inRanges([[0, sot + 1], [sot + 1 + numLanguages, this.vocab]]), mx.array(-Infinity, mx.float32), logits);
      const languageProbs = mx.softmax(masked.index(mx.Slice(sot + 1, sot + 1 + numLanguages)), -1, true);
      mx.eval(languageProbs);
      return languageProbs.tolist() as number[];
    });
    const codes = this.tokenizer.languageCodes;
    const probabilities = Object.fromEntries(codes.map((code, i) => [code, probs[i]]));
    const best = probs.reduce((bestIndex, p, i) => (p > probs[bestIndex] ? i : bestIndex), 0);
    return { language: codes[best], probabilities };
  }

  /** Decodes one window's audio features [1, nAudioCtx, nAudioState]. */
  async decode(audio: mx.array, options: WindowDecodingOptions): Promise<WindowDecoding> {
    const { eot, timestampBegin, sotPrev, sot } = this.tokenizer.special;
    const nCtx = this.model.dims.nTextCtx;
    const sampleLen = Math.floor(nCtx / 2);
    const sotSequence = this.tokenizer.sotSequence(options.language, options.task);
    const prompt = options.prompt.slice(-(Math.floor(nCtx / 2) - 1));
    const initial = [...(prompt.length > 0 ? [sotPrev, ...prompt] : []), ...sotSequence];
    const sotIndex = initial.indexOf(sot);
    const precision = CHUNK_SECONDS / this.model.dims.nAudioCtx;
    const maxInitialIndex = options.maxInitialTimestamp === undefined ? undefined : Math.round(options.maxInitialTimestamp / precision);

    const state: DecoderState = this.model.decoder.newState(audio);
    const sampled: number[] = [];
    let sumLogprob = 0;
    let noSpeechProb = Number.NaN;
    let input = initial;
    for (let i = 0; i < sampleLen && initial.length + sampled.length <= nCtx; i++) {
      if (options.signal?.aborted) {
        throw new DOMException('The transcription was cancelled', 'AbortError');
      }
      const first = i === 0;
      const ranges = timestampRuleRanges(sampled, eot, timestampBegin, this.vocab, maxInitialIndex);
      const step = await gated(options.gate, () => {
        const positions = first ? [sotIndex, input.length - 1] : [input.length - 1];
        const logits = this.model.decoder.forward(input, state, positions);
        const last = logits.index(positions.length - 1);
        const { token, logprob } = this.choose(last, ranges, first, options.temperature);
        const noSpeech = first ? mx.softmax(logits.index(0), -1, true).index(this.tokenizer.special.noSpeech) : undefined;
        mx.eval(...[token, logprob, noSpeech].filter((array) => array !== undefined));
        return { token: token.item() as number, logprob: logprob.item() as number, noSpeech: noSpeech?.item() as number | undefined };
      });
      if (step.noSpeech !== undefined) {
        noSpeechProb = step.noSpeech;
      }
      sumLogprob += step.logprob;
      if (step.token === eot) {
        break;
      }
      sampled.push(step.token);
      input = [step.token];
      // Native memory is released by finalizers, which only run when the event loop turns.
      await nextMacrotask();
    }
    const text = this.tokenizer.decode(sampled).trim();
    return {
      tokens: sampled,
      text,
      avgLogprob: sumLogprob / (sampled.length + 1),
      noSpeechProb,
      temperature: options.temperature,
      compressionRatio: compressionRatio(text),
    };
  }

  /** Applies the filters to one step's logits [vocab] and picks the next token; its log-probability is under the filtered distribution. */
  private choose(logits: mx.array, ranges: Ranges, first: boolean, temperature: number): { token: mx.array; logprob: mx.array } {
    const { timestampBegin } = this.tokenizer.special;
    let masked = mx.add(logits, this.suppress);
    if (first) {
      masked = mx.add(masked, this.blank);
    }
    const negInf = mx.array(-Infinity, mx.float32);
    if (ranges.length > 0) {
      masked = mx.where(this.inRanges(ranges), negInf, masked);
    }
    const logprobs = mx.subtract(masked, mx.logsumexp(masked, -1, true));
    const timestampMass = mx.logsumexp(logprobs.index(mx.Slice(timestampBegin)), -1);
    const bestText = mx.max(logprobs.index(mx.Slice(0, timestampBegin)), -1);
    masked = mx.where(mx.logicalAnd(mx.greater(timestampMass, bestText), mx.less(this.ids, timestampBegin)), negInf, masked);
    const token = temperature === 0 ? mx.argmax(masked, -1) : mx.random.categorical(mx.divide(masked, temperature));
    const finalLogprobs = mx.subtract(masked, mx.logsumexp(masked, -1, true));
    return { token, logprob: mx.take(finalLogprobs, token) };
  }

  private inRanges(ranges: Ranges): mx.array {
    return ranges
      .map(([from, to]) => mx.logicalAnd(mx.greaterEqual(this.ids, from), mx.less(this.ids, to)))
      .reduce((any, range) => mx.logicalOr(any, range));
  }

  /** An additive mask [vocab]: −∞ at `tokens`, 0 elsewhere. */
  private tokenMask(tokens: readonly number[]): mx.array {
    const listed = mx.array([...new Set(tokens)], mx.int32).reshape(-1, 1);
    const marked = mx.any(mx.equal(mx.expandDims(this.ids, 0), listed), 0);
    const mask = mx.where(marked, mx.array(-Infinity, mx.float32), mx.array(0, mx.float32));
    mx.eval(mask);
    return mask;
  }
}
