import { Injectable } from '@nestjs/common';
import type { GenerationChunk, GenerationResult, StreamContext, TextGenerationParams, WirePromptLogprob } from '@mlx-omni/ipc';
import { scorePrompt } from '@mlx-omni/mlx-native';
import { ModelPoolService, type PooledChatModel } from '../models/model-pool.service';
import { assertFitsContext, badRequest, generateChoices, generationResult, type ChoiceSettings } from '../generation/choice-generator';
import { VerbatimOutput } from '../generation/verbatim-output';

/** Legacy completions: the prompt goes to the model as it is, with no chat template. */
@Injectable()
export class TextGenerationService {
  constructor(private readonly pool: ModelPoolService) {}

  generate(params: TextGenerationParams, ctx: StreamContext<GenerationChunk>): Promise<GenerationResult> {
    return this.pool.use('chat', params.model, params.modelPath, (pooled) => this.generateWith(pooled, params, ctx));
  }

  private async generateWith(pooled: PooledChatModel, params: TextGenerationParams, ctx: StreamContext<GenerationChunk>): Promise<GenerationResult> {
    const { tokenizer } = pooled;
    // Text is encoded as the tokenizer's defaults say (BOS included where the model expects it); token ids are used as sent.
    const prompts = params.prompts.map((prompt, index) => {
      const ids = typeof prompt === 'string' ? tokenizer.encode(prompt) : prompt;
      const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= tokenizer.vocabSize);
      if (bad !== undefined) {
        throw badRequest(`prompt[${index}] holds token id ${bad}, outside this model's vocabulary of ${tokenizer.vocabSize}`, 'prompt');
      }
      assertFitsContext(pooled, ids.length, 'prompt');
      return { ids, text: typeof prompt === 'string' ? prompt : tokenizer.decode(ids) };
    });
    // Every prompt's choices join the model's batch at once.
    const runs = await Promise.all(
      prompts.map(async (prompt, index) => {
        const choices = Array.from(
          { length: params.n },
          (_, i): ChoiceSettings => ({
            choice: index * params.n + i,
            sampling: params.sampling,
            maxTokens: params.maxTokens,
            stop: params.stop,
            logprobs: params.topLogprobs !== undefined,
            topLogprobs: params.topLogprobs ?? 0,
            logitsProcessors: [],
            skipSpecialTokens: true,
          }),
        );
        const outputs = choices.map((settings) => new VerbatimOutput(settings.choice));
        if (params.echo) {
          for (const [i, output] of outputs.entries()) {
            const choice = choices[i].choice;
            await ctx.send(params.topLogprobs === undefined ? output.content(prompt.text, undefined) : await this.scoredEcho(pooled, choice, prompt, params.topLogprobs));
          }
        }
        return generateChoices(pooled, prompt.ids, choices, outputs, params.caller, ctx);
      }),
    );
    return generationResult(0, runs);
  }

  /** The echoed prompt with each token's logprob given the ones before it (the first has none). */
  private async scoredEcho(
    { lm, tokenizer }: PooledChatModel,
    choice: number,
    prompt: { ids: number[]; text: string },
    topLogprobs: number,
  ): Promise<GenerationChunk> {
    const scores = await scorePrompt(lm.model, prompt.ids, topLogprobs);
    const alternative = ({ tokenId, logprob }: { tokenId: number; logprob: number }) => ({ token: tokenizer.tokenText(tokenId), logprob, bytes: Array.from(tokenizer.tokenBytes(tokenId)) });
    const promptLogprobs: WirePromptLogprob[] = prompt.ids.map((id, i) =>
      i === 0
        ? { token: tokenizer.tokenText(id), logprob: null, top_logprobs: null }
        : { token: tokenizer.tokenText(id), logprob: scores[i - 1].logprob, top_logprobs: scores[i - 1].top.map(alternative) },
    );
    return { choice, type: 'content', text: prompt.text, promptLogprobs };
  }
}
