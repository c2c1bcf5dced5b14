import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MODEL_ID_PATHS, ModelIdParam } from '../../models/model-id.param';
import { AnthropicErrorResponses } from '../anthropic-error-responses.decorator';
import { AnthropicModelDto, AnthropicModelListDto } from '../dto/message.dto';
import { AnthropicModelsService } from './anthropic-models.service';
import { AnthropicModelListQueryDto } from './model-list-query.dto';

@ApiTags('anthropic')
@Controller('anthropic/v1/models')
export class AnthropicModelsController {
  constructor(private readonly models: AnthropicModelsService) {}

  @Get()
  @ApiOperation({ summary: 'List the chat models and aliases, newest first (Anthropic Models API)' })
  @ApiOkResponse({ type: AnthropicModelListDto })
  @AnthropicErrorResponses(400, 401)
  list(@Query() query: AnthropicModelListQueryDto): Promise<AnthropicModelListDto> {
    return this.models.list(query);
  }

  @Get(MODEL_ID_PATHS)
  @ApiOperation({ summary: 'Describe one chat model or alias' })
  @ApiOkResponse({ type: AnthropicModelDto })
  @AnthropicErrorResponses(401, 404)
  retrieve(@ModelIdParam() id: string): Promise<AnthropicModelDto> {
    return this.models.retrieve(id);
  }
}
