import { core as mx } from '@frost-beta/mlx';
import { StandardKVCache } from '../cache';
import { BatchedRowsCache, RowCaches, type ForkableKVCache, type KVCache, type LayerCache } from '../../nn/kv-cache';
import type { ForwardOptions, LanguageModel } from '../language-model';

/**
 * A LanguageModel whose next-token logits are a function of the position alone, so tests can
 * dictate exactly what the generation loop sees. It keeps a real KV cache (of one-element keys)
 * so positions advance as in a real model, and records the length of every forward call.
 */
export class ToyModel implements LanguageModel {
  readonly modelType = 'toy';
  /** Tokens per forward call, in order. */
  readonly forwardLengths: number[] = [];
  /** Rows per forward call, in order. */
  readonly forwardRows: number[] = [];

  constructor(
    readonly vocabSize: number,
    /** Logits [vocab] predicting the token after absolute position `position`. */
    private readonly logitsAfter: (position: number) => mx.array,
    readonly contextLength = 4096,
  ) {}

  forward(tokens: mx.array, cache?: LayerCache[], options?: ForwardOptions): mx.array {
    const [batch, length] = tokens.shape;
    const layer = cache?.[0];
    this.forwardLengths.push(length);
    this.forwardRows.push(batch);
    let starts: number[];
    if (layer instanceof BatchedRowsCache) {
      starts = [...layer.offsets];
      layer.update(mx.zeros([batch, 1, length, 1]), mx.zeros([batch, 1, length, 1]));
    } else {
      const rowCaches: Array<KVCache | undefined> = layer instanceof RowCaches ? [...layer.rows] : Array<KVCache | undefined>(batch).fill(layer);
      // A row's left padding (RowCaches.lengths) takes no positions: its own tokens end the call.
      const own = (r: number) => (layer instanceof RowCaches ? (layer.lengths?.[r] ?? length) : length);
      starts = rowCaches.map((rowCache, r) => {
        const start = (rowCache?.offset ?? 0) - (length - own(r));
        rowCache?.update(mx.zeros([1, 1, own(r), 1]), mx.zeros([1, 1, own(r), 1]));
        return start;
      });
    }
    const rows = starts.map((start) => {
      // Nobody reads what padding positions predict; clamped, they name a real position.
      const first = options?.lastTokenOnly ? start + length - 1 : start;
      const positions = [];
      for (let position = first; position < start + length; position++) {
        positions.push(this.logitsAfter(Math.max(position, 0)));
      }
      return mx.stack(positions);
    });
    return mx.stack(rows);
  }

  createCache(): ForkableKVCache[] {
    return [new StandardKVCache()];
  }
}

/** The same logits after every position: each step samples from one fixed distribution. */
export function fixedLogitsModel(logits: readonly number[], contextLength?: number): ToyModel {
  const row = mx.array([...logits], mx.float32);
  return new ToyModel(logits.length, () => row, contextLength);
}

/**
 * Greedily generates `script` after a prompt of `promptLength` tokens: the scripted token gets
 * logit 0 and every other token -30, then the last scripted token repeats.
 */
export function scriptedModel(vocabSize: number, promptLength: number, script: readonly number[], contextLength?: number): ToyModel {
  const ids = mx.arange(vocabSize, mx.int32);
  return new ToyModel(
    vocabSize,
    (position) => {
      const step = Math.min(Math.max(position - (promptLength - 1), 0), script.length - 1);
      return mx.where(mx.equal(ids, script[step]), 0, -30);
    },
    contextLength,
  );
}
