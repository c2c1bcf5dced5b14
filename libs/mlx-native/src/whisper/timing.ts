import { core as mx } from '@frost-beta/mlx';
import { HOP_LENGTH, SAMPLE_RATE } from '../audio/constants';
import { gated, type StepGate } from '../runtime/step-gate';
import type { WhisperModel } from './model';
import type { WhisperTokenizer } from './tokenizer';

/** Audio positions (encoder outputs) per second: one per two mel frames. */
const TOKENS_PER_SECOND = SAMPLE_RATE / (2 * HOP_LENGTH);
const MEDIAN_FILTER_WIDTH = 7;
export const PREPEND_PUNCTUATIONS = '"\'“¿([{-';
export const APPEND_PUNCTUATIONS = '"\'.。,，!！?？:：”)]}、';

export interface WordTiming {
  word: string;
  tokens: number[];
  start: number;
  end: number;
  probability: number;
}

/**
 * The minimum-cost monotonic path through `cost` [rows][cols] from (0, 0) to the far corner, as
 * openai/whisper's dtw_cpu walks it (a diagonal step wins only when strictly cheapest, then a step
 * down, else a step right). Returns the row and column of every cell on the path, in order.
 */
export function dynamicTimeWarping(cost: readonly Float64Array[]): { rows: number[]; cols: number[] } {
  const n = cost.length;
  const m = cost[0]?.length ?? 0;
  const total = Array.from({ length: n + 1 }, () => new Float64Array(m + 1).fill(Infinity));
  const trace = Array.from({ length: n + 1 }, () => new Int8Array(m + 1).fill(-1));
  total[0][0] = 0;
  for (let j = 1; j <= m; j++) {
    for (let i = 1; i <= n; i++) {
      const c0 = total[i - 1][j - 1];
      const c1 = total[i - 1][j];
      const c2 = total[i][j - 1];
      let c: number;
      let t: number;
      if (c0 < c1 && c0 < c2) {
        [c, t] = [c0, 0];
      } else if (c1 < c0 && c1 < c2) {
        [c, t] = [c1, 1];
      } else {
        [c, t] = [c2, 2];
      }
      total[i][j] = cost[i - 1][j - 1] + c;
      trace[i][j] = t;
    }
  }
  trace[0].fill(2);
  for (let i = 0; i <= n; i++) {
    trace[i][0] = 1;
  }
  const rows: number[] = [];
  const cols: number[] = [];
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    rows.push(i - 1);
    cols.push(j - 1);
    const t = trace[i][j];
    if (t === 0) {
      i -= 1;
      j -= 1;
    } else if (t === 1) {
      i -= 1;
    } else {
      j -= 1;
    }
  }
  return { rows: rows.reverse(), cols: cols.reverse() };
}

/** A median filter of odd `width` along the last axis, reflect-padded at the ends (scipy.signal.medfilt over np.pad(mode='reflect')). */
function medianFilter(x: mx.array, width: number): mx.array {
  const pad = Math.floor(width / 2);
  const length = x.shape[x.ndim - 1];
  if (length <= pad) {
    return x;
  }
  const padded = mx.concatenate([x.index('...', mx.Slice(pad, 0, -1)), x, x.index('...', mx.Slice(-2, -pad - 2, -1))], -1);
  const windows = mx.stack(Array.from({ length: width }, (_, k) => padded.index('...', mx.Slice(k, k + length))), -1);
  return mx.sort(windows, -1).index('...', pad);
}

/**
 * Word timings of `textTokens` spoken in one window, from the cross-attention of the alignment
 * heads (openai/whisper's find_alignment): the attention of each text token to the audio,
 * normalised per head, median-filtered and averaged, then a dynamic-time-warping path through it;
 * a word starts where the path first reaches its first token.
 */
export async function findAlignment(
  model: WhisperModel,
  tokenizer: WhisperTokenizer,
  audio: mx.array,
  textTokens: readonly number[],
  numFrames: number,
  sotSequence: readonly number[],
  language: string,
  gate?: StepGate,
): Promise<WordTiming[]> {
  if (textTokens.length === 0) {
    return [];
  }
  const { eot, noTimestamps } = tokenizer.special;
  const tokens = [...sotSequence, noTimestamps, ...textTokens, eot];
  const { probabilities, matrix } = await gated(gate, () => {
    const scores: mx.array[] = [];
    const positions = textTokens.map((_, i) => sotSequence.length + i);
    const logits = model.decoder.forward(tokens, model.decoder.newState(audio), positions, scores);
    const tokenProbs = mx.softmax(logits.index(mx.Slice(), mx.Slice(0, eot)), -1, true);
    const textProbs = mx.takeAlongAxis(tokenProbs, mx.array(textTokens.map((t) => [t]), mx.int32), 1).flatten();
    const frames = Math.floor(numFrames / 2);
    let weights = mx.stack(model.alignmentHeads.map(([layer, head]) => scores[layer].index(0, head)));
    weights = mx.softmax(weights.index(mx.Slice(), mx.Slice(), mx.Slice(0, frames)), -1, true);
    const mean = mx.mean(weights, -2, true);
    const std = mx.sqrt(mx.variance(weights, -2, true, 0));
    weights = medianFilter(mx.divide(mx.subtract(weights, mean), std), MEDIAN_FILTER_WIDTH);
    const averaged = mx.mean(weights, 0).index(mx.Slice(sotSequence.length, -1));
    mx.eval(textProbs, averaged);
    return { probabilities: textProbs.tolist() as number[], matrix: averaged.tolist() as number[][] };
  });
  const path = dynamicTimeWarping(matrix.map((row) => Float64Array.from(row, (value) => -value)));

  const { words, wordTokens } = tokenizer.splitToWordTokens([...textTokens, eot], language);
  if (wordTokens.length <= 1) {
    return [];
  }
  const boundaries = [0];
  for (const group of wordTokens.slice(0, -1)) {
    boundaries.push(boundaries[boundaries.length - 1] + group.length);
  }
  const jumpTimes: number[] = [];
  path.rows.forEach((row, k) => {
    if (k === 0 || row !== path.rows[k - 1]) {
      jumpTimes.push(path.cols[k] / TOKENS_PER_SECOND);
    }
  });
  return boundaries.slice(0, -1).map((from, w) => {
    const to = boundaries[w + 1];
    const slice = probabilities.slice(from, to);
    return {
      word: words[w],
      tokens: wordTokens[w],
      start: jumpTimes[from],
      end: jumpTimes[to],
      probability: slice.reduce((sum, p) => sum + p, 0) / slice.length,
    };
  });
}

/** Attaches leading punctuation (quotes, brackets) to the next word and trailing punctuation to the previous one. */
export function mergePunctuations(alignment: WordTiming[], prepended = PREPEND_PUNCTUATIONS, appended = APPEND_PUNCTUATIONS): void {
  let i = alignment.length - 2;
  let j = alignment.length - 1;
  while (i >= 0) {
    const previous = alignment[i];
    const following = alignment[j];
    if (previous.word.startsWith(' ') && prepended.includes(previous.word.trim())) {
      following.word = previous.word + following.word;
      following.tokens = [...previous.tokens, ...following.tokens];
      previous.word = '';
      previous.tokens = [];
    } else {
      j = i;
    }
    i -= 1;
  }
  i = 0;
  j = 1;
  while (j < alignment.length) {
    const previous = alignment[i];
    const following = alignment[j];
    if (!previous.word.endsWith(' ') && appended.includes(following.word)) {
      previous.word = previous.word + following.word;
      previous.tokens = [...previous.tokens, ...following.tokens];
      following.word = '';
      following.tokens = [];
    } else {
      i = j;
    }
    j += 1;
  }
}

export interface TimedWord {
  word: string;
  start: number;
  end: number;
  probability: number;
}

/** What word timing needs of a segment, and what it adjusts. */
export interface WordTimedSegment {
  seek: number;
  start: number;
  end: number;
  tokens: number[];
  words?: TimedWord[];
}

const round2 = (seconds: number): number => Math.round(seconds * 100) / 100;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Gives each segment of one window its words with times (openai/whisper's add_word_timestamps),
 * including its heuristics: words at sentence ends and after pauses are capped at twice the median
 * word duration, and segment bounds move to their first and last words unless those look too long.
 * `lastSpeechTimestamp` is where speech last ended before this window.
 */
export function assignWordTimestamps(segments: WordTimedSegment[], alignment: WordTiming[], eot: number, lastSpeechTimestamp: number): void {
  if (segments.length === 0) {
    return;
  }
  const durations = alignment.map((timing) => timing.end - timing.start).filter((duration) => duration !== 0);
  const medianDuration = Math.min(0.7, durations.length > 0 ? median(durations) : 0);
  const maxDuration = medianDuration * 2;
  if (durations.length > 0) {
    const sentenceEnds = '.。!！?？';
    for (let i = 1; i < alignment.length; i++) {
      if (alignment[i].end - alignment[i].start > maxDuration) {
        if (sentenceEnds.includes(alignment[i].word)) {
          alignment[i].end = alignment[i].start + maxDuration;
        } else if (sentenceEnds.includes(alignment[i - 1].word)) {
          alignment[i].start = alignment[i].end - maxDuration;
        }
      }
    }
  }
  mergePunctuations(alignment);

  const timeOffset = (segments[0].seek * HOP_LENGTH) / SAMPLE_RATE;
  let wordIndex = 0;
  for (const segment of segments) {
    const textTokens = segment.tokens.filter((token) => token < eot);
    let savedTokens = 0;
    const words: TimedWord[] = [];
    while (wordIndex < alignment.length && savedTokens < textTokens.length) {
      const timing = alignment[wordIndex];
      if (timing.word) {
        words.push({ word: timing.word, start: round2(timeOffset + timing.start), end: round2(timeOffset + timing.end), probability: timing.probability });
      }
      savedTokens += timing.tokens.length;
      wordIndex += 1;
    }
    if (words.length > 0) {
      const first = words[0];
      if (
        first.end - lastSpeechTimestamp > medianDuration * 4 &&
        (first.end - first.start > maxDuration || (words.length > 1 && words[1].end - first.start > maxDuration * 2))
      ) {
        if (words.length > 1 && words[1].end - words[1].start > maxDuration) {
          const boundary = Math.max(words[1].end / 2, words[1].end - maxDuration);
          first.end = words[1].start = boundary;
        }
        first.start = Math.max(0, first.end - maxDuration);
      }
      if (segment.start < first.end && segment.start - 0.5 > first.start) {
        first.start = Math.max(0, Math.min(first.end - medianDuration, segment.start));
      } else {
        segment.start = first.start;
      }
      const last = words[words.length - 1];
      if (segment.end > last.start && segment.end + 0.5 < last.end) {
        last.end = Math.max(last.start + medianDuration, segment.end);
      } else {
        segment.end = last.end;
      }
      lastSpeechTimestamp = segment.end;
    }
    segment.words = words;
  }
}
