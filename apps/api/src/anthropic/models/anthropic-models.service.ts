import { Injectable } from '@nestjs/common';
import { ApiError } from '../../common/errors/api-error';
import type { ModelDto } from '../../models/dto/model.dto';
import { ModelsService } from '../../models/models.service';
import type { AnthropicModelDto, AnthropicModelListDto } from '../dto/message.dto';
import type { AnthropicModelListQueryDto } from './model-list-query.dto';

const DEFAULT_LIMIT = 20;

const servesMessages = (model: ModelDto): boolean => model.kind === 'chat' && model.supported;

function toAnthropic(model: ModelDto): AnthropicModelDto {
  return { type: 'model', id: model.id, display_name: model.id, created_at: new Date(model.created * 1000).toISOString() };
}

/** The chat models (aliases included) in Anthropic's shape: newest first, paged by id. */
@Injectable()
export class AnthropicModelsService {
  constructor(private readonly models: ModelsService) {}

  async list({ after_id: afterId, before_id: beforeId, limit = DEFAULT_LIMIT }: AnthropicModelListQueryDto): Promise<AnthropicModelListDto> {
    const all = (await this.models.list()).data
      .filter(servesMessages)
      .sort((a, b) => b.created - a.created || a.id.localeCompare(b.id))
      .map(toAnthropic);
    const position = (id: string, param: string): number => {
      const index = all.findIndex((model) => model.id === id);
      if (index < 0) {
        throw new ApiError(400, `${param} "${id}" is not a listed model`, { param, code: 'invalid_value' });
      }
      return index;
    };
    let page: AnthropicModelDto[];
    let hasMore: boolean;
    if (beforeId !== undefined) {
      const end = position(beforeId, 'before_id');
      page = all.slice(Math.max(0, end - limit), end);
      hasMore = end - limit > 0;
    } else {
      const start = afterId === undefined ? 0 : position(afterId, 'after_id') + 1;
      page = all.slice(start, start + limit);
      hasMore = start + limit < all.length;
    }
    return { data: page, has_more: hasMore, first_id: page[0]?.id ?? null, last_id: page[page.length - 1]?.id ?? null };
  }

  async retrieve(id: string): Promise<AnthropicModelDto> {
    const model = await this.models.retrieve(id);
    if (!servesMessages(model)) {
      throw new ApiError(404, `Model ${id} is not a chat model this server runs`, { param: 'model_id', code: 'model_not_found' });
    }
    return toAnthropic(model);
  }
}
