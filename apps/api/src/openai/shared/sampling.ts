import type { SamplingWireOptions } from '@mlx-omni/ipc';
import type { SamplingParametersDto } from '@mlx-omni/openai-dto';

/** OpenAI's defaults for the sampling fields both chat and legacy completions share. */
export function toSamplingOptions(request: SamplingParametersDto): SamplingWireOptions {
  return {
    temperature: request.temperature ?? 1,
    topP: request.top_p ?? 1,
    topK: request.top_k ?? 0,
    minP: request.min_p ?? 0,
    repetitionPenalty: request.repetition_penalty ?? 1,
    presencePenalty: request.presence_penalty ?? 0,
    frequencyPenalty: request.frequency_penalty ?? 0,
    logitBias: Object.fromEntries(Object.entries(request.logit_bias ?? {}).map(([token, bias]) => [Number(token), bias])),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
  };
}

export function toStopSequences(request: SamplingParametersDto): string[] {
  return request.stop === undefined ? [] : typeof request.stop === 'string' ? [request.stop] : request.stop;
}
