import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { loadConfig } from '@mlx-omni/config';
import type { GenerationChunk, GenerationResult } from '@mlx-omni/ipc';
import { InferenceMetricsService } from './inference-metrics.service';
import type { MetricsService } from './metrics.service';

function generation(chunks: GenerationChunk[], result: GenerationResult | Error, firstChunkSent: Promise<void> = Promise.resolve()) {
  const settled = result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
  settled.catch(() => undefined);
  return {
    result: settled,
    async *[Symbol.asyncIterator]() {
      await firstChunkSent;
      for (const chunk of chunks) {
        yield chunk;
      }
      if (result instanceof Error) {
        throw result;
      }
    },
  };
}

const CONTEXT = { requestId: 'req-1', keyName: 'alice' };

const usage = (promptTokens: number, completionTokens: number): GenerationResult => ({
  promptTokens,
  completionTokens,
  reasoningTokens: 0,
  cachedTokens: 0,
  stopSequences: [null],
  timings: { promptMs: 1, generationMs: 2 },
});

describe('InferenceMetricsService', () => {
  let registry: Registry;
  let service: InferenceMetricsService;

  beforeEach(() => {
    registry = new Registry();
    service = new InferenceMetricsService({ registry } as MetricsService, loadConfig({}));
  });

  const value = async (name: string, labels: Record<string, string> = { model: 'm' }): Promise<number | undefined> => {
    // A histogram's _count series is listed under the histogram's own name.
    const values = (await registry.getMetricsAsJSON()).flatMap((metric) =>
      metric.values.map((entry) => ({ ...entry, name: (entry as { metricName?: string }).metricName ?? metric.name })),
    );
    return values.find((entry) => entry.name === name && Object.entries(labels).every(([key, label]) => entry.labels[key] === label))?.value;
  };

  it('counts tokens, a first-token time, one gap per later chunk, and the finish reason', async () => {
    const chunks: GenerationChunk[] = [
      { choice: 0, type: 'content', text: 'a' },
      { choice: 0, type: 'content', text: 'b' },
      { choice: 0, type: 'finish', reason: 'length' },
    ];
    const tracked = service.trackGeneration(generation(chunks, usage(7, 2)), {
      context: CONTEXT,
      model: 'm',
      endpoint: 'chat',
      stream: true,
      prompt: 'hi',
    });
    const seen: GenerationChunk[] = [];
    for await (const chunk of tracked) {
      seen.push(chunk);
    }
    expect(seen).toEqual(chunks);
    expect(await value('mlx_omni_prompt_tokens_total')).toBe(7);
    expect(await value('mlx_omni_generation_tokens_total')).toBe(2);
    expect(await value('mlx_omni_time_to_first_token_seconds_count')).toBe(1);
    expect(await value('mlx_omni_inter_token_latency_seconds_count')).toBe(2);
    expect(await value('mlx_omni_e2e_request_latency_seconds_count')).toBe(1);
    expect(await value('mlx_omni_request_success_total', { model: 'm', finished_reason: 'length' })).toBe(1);
    expect(await value('mlx_omni_num_requests_running')).toBe(0);
    expect(await value('mlx_omni_num_requests_waiting')).toBe(0);
  });

  it('shows a generation as waiting, then running, and neither once the client leaves', async () => {
    let sendFirstChunk!: () => void;
    const firstChunkSent = new Promise<void>((resolve) => {
      sendFirstChunk = resolve;
    });
    const chunks: GenerationChunk[] = [
      { choice: 0, type: 'content', text: 'a' },
      { choice: 0, type: 'content', text: 'b' },
    ];
    const tracked = service.trackGeneration(generation(chunks, usage(1, 2), firstChunkSent), {
      context: CONTEXT,
      model: 'm',
      endpoint: 'completions',
      stream: true,
      prompt: ['hi'],
    });
    const iterator = tracked[Symbol.asyncIterator]();
    const first = iterator.next();
    expect(await value('mlx_omni_num_requests_waiting')).toBe(1);
    sendFirstChunk();
    await first;
    expect(await value('mlx_omni_num_requests_waiting')).toBe(0);
    expect(await value('mlx_omni_num_requests_running')).toBe(1);
    await iterator.return?.();
    expect(await value('mlx_omni_num_requests_running')).toBe(0);
    // Cut short: no end-to-end latency or token counts for an unfinished generation.
    expect(await value('mlx_omni_e2e_request_latency_seconds_count')).toBeUndefined();
    expect(await value('mlx_omni_generation_tokens_total')).toBeUndefined();
  });

  it('passes a worker failure on and stops counting the generation as waiting', async () => {
    const tracked = service.trackGeneration(generation([], new Error('worker gone')), { context: CONTEXT, model: 'm', endpoint: 'chat', stream: false, prompt: [] });
    await expect((async () => {
      for await (const chunk of tracked) {
        void chunk;
      }
    })()).rejects.toThrow('worker gone');
    expect(await value('mlx_omni_num_requests_waiting')).toBe(0);
    expect(await value('mlx_omni_time_to_first_token_seconds_count')).toBeUndefined();
  });

  it('counts every kind of gateway work by endpoint and outcome: generations, other streams and calls', async () => {
    const work = (endpoint: string) => ({ context: CONTEXT, model: 'm', endpoint, stream: false, prompt: null });
    for await (const chunk of service.trackGeneration(generation([{ choice: 0, type: 'finish', reason: 'stop' }], usage(1, 0)), work('chat'))) {
      void chunk;
    }
    const segments = { result: Promise.resolve({ text: 'ab' }), async *[Symbol.asyncIterator]() { yield 'a'; yield 'b'; } };
    for await (const segment of service.trackStream(segments, work('audio.transcriptions'))) {
      void segment;
    }
    await expect(service.trackCall(Promise.resolve([0.1]), work('embeddings'))).resolves.toEqual([0.1]);
    await expect(service.trackCall(Promise.reject(new Error('bad input')), work('embeddings'))).rejects.toThrow('bad input');
    for (const endpoint of ['chat', 'audio.transcriptions', 'embeddings']) {
      expect(await value('mlx_omni_inference_requests_total', { endpoint, model: 'm', outcome: 'finished' })).toBe(1);
      expect(await value('mlx_omni_inference_duration_seconds_count', { endpoint, model: 'm' })).toBe(1);
    }
    expect(await value('mlx_omni_inference_requests_total', { endpoint: 'embeddings', model: 'm', outcome: 'error' })).toBe(1);
  });

  describe('the log line of a generation', () => {
    const logged = async (env: Record<string, string>): Promise<Record<string, unknown>> => {
      const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      try {
        const quiet = new InferenceMetricsService({ registry: new Registry() } as MetricsService, loadConfig(env));
        const chunks: GenerationChunk[] = [
          { choice: 0, type: 'content', text: 'sec' },
          { choice: 0, type: 'content', text: 'ret' },
          { choice: 0, type: 'finish', reason: 'stop' },
        ];
        const tracked = quiet.trackGeneration(generation(chunks, usage(4, 2)), {
          context: CONTEXT,
          model: 'm',
          endpoint: 'chat',
          stream: false,
          prompt: [{ role: 'user', content: 'private words' }],
        });
        for await (const chunk of tracked) {
          void chunk;
        }
        return log.mock.calls[0][0] as Record<string, unknown>;
      } finally {
        log.mockRestore();
      }
    };

    it('names the request, key, model, tokens, latency and finish reason, but no text by default', async () => {
      const line = await logged({});
      expect(line).toMatchObject({ requestId: 'req-1', key: 'alice', model: 'm', outcome: 'finished', promptTokens: 4, completionTokens: 2, finishReason: 'stop' });
      expect(typeof line.latencyMs).toBe('number');
      expect(JSON.stringify(line)).not.toMatch(/private words|secret/);
    });

    it('adds the prompt and the completion with MLX_OMNI_LOG_PROMPTS=true', async () => {
      const line = await logged({ MLX_OMNI_LOG_PROMPTS: 'true' });
      expect(line).toMatchObject({ prompt: [{ role: 'user', content: 'private words' }], completion: ['secret'] });
    });
  });
});
