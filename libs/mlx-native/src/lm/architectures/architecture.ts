import type { ModelConfig } from '../../io/model-config';
import type { WeightStore } from '../../io/weight-store';
import type { DecoderLanguageModel } from '../language-model';

/** One model family: how to build it from config.json and the loaded weights. */
export interface Architecture {
  build(config: ModelConfig, weights: WeightStore): DecoderLanguageModel;
  /** Which checkpoint tensors the text model reads; the rest (a vision tower, a multi-token-prediction layer) is never loaded. */
  usesTensor?(name: string, config: ModelConfig): boolean;
}
