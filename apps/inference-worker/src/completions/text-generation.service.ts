import { Injectable } from '@nestjs/common';
import type { GenerationChunk, GenerationResult, StreamContext, TextGenerationParams, WirePromptLogprob } from '@mlx-omni/ipc';
import { FairStepScheduler, scorePrompt } from '@mlx-omni/mlx-native';
import { ModelPoolService, type PooledChatModel } from '../models/model-pool.service';
import { assertFitsContext, badRequest, generateChoice, generationResult, type ChoiceOutcome, type ChoiceSettings } from '../generation/choice-generator';
import { VerbatimOutput } from '../generation/verbatim-output';

/** Legacy completions: the prompt goes to the model as it is, with no chat template. */
@Injectable()
export class TextGenerationService {
  constructor(
    private readonly pool: ModelPoolService,
    private readonly scheduler: FairStepScheduler,
  ) {}

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
    let promptTokens = 0;
    const outcomes: ChoiceOutcome[] = [];
    for (const [index, prompt] of prompts.entries()) {
      promptTokens += prompt.ids.length;
      for (let i = 0; i < params.n; i++) {
        const choice = index * params.n + i;
        const output = new VerbatimOutput(choice);
        if (params.echo) {
          await ctx.send(params.topLogprobs === undefined ? output.content(prompt.text, undefined) : await this.scoredEcho(pooled, choice, prompt, params.topLogprobs));
        }
        const settings: ChoiceSettings = {
          choice,
          sampling: params.sampling,
          maxTokens: params.maxTokens,
          stop: params.stop,
          logprobs: params.topLogprobs !== undefined,
          topLogprobs: params.topLogprobs ?? 0,
          logitsProcessors: [],
          skipSpecialTokens: true,
          stepGate: this.scheduler.lane(params.caller),
        };
        outcomes.push(await generateChoice(pooled, prompt.ids, settings, output, ctx));
      }
    }
    return generationResult(promptTokens, 0, outcomes);
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
