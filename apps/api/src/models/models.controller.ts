import { Body, Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/admin-only.decorator';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { EXAMPLE_CHAT_MODEL } from '../common/openapi/openapi-document';
import { JobResponseDto } from '../jobs/dto/job-response.dto';
import { ModelDeletedResponseDto, ModelDto, ModelListResponseDto } from './dto/model.dto';
import { PullModelRequestDto } from './dto/pull-model-request.dto';
import { MODEL_ID_PATHS, ModelIdParam } from './model-id.param';
import { ModelsService } from './models.service';

const withSuffix = (suffix: string): string[] => MODEL_ID_PATHS.map((path) => `${path}/${suffix}`);
/** Swagger UI encodes the slash of an `org/name` id, which the route accepts. */
const ApiModelId = () => ApiParam({ name: 'id', description: 'A repo id (`org/name`, optionally `@revision`) or, URL-encoded, a folder path', example: EXAMPLE_CHAT_MODEL });

@ApiTags('models')
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiOperation({ summary: 'List the models the server can serve, from the Hugging Face cache and MLX_OMNI_MODEL_DIRS, and where each is loaded' })
  @ApiOkResponse({ type: ModelListResponseDto })
  @ApiErrorResponses()
  list(): Promise<ModelListResponseDto> {
    return this.models.list();
  }

  @Post('pull')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Download a model from the Hugging Face Hub (HF_ENDPOINT) into the cache',
    description: 'Enqueues a job, one per model and revision; poll GET /v1/jobs/{id} for bytes and files done.',
  })
  @ApiAcceptedResponse({ type: JobResponseDto })
  @AdminOnly()
  @ApiErrorResponses(400, 401, 403, 503)
  pull(@Body() body: PullModelRequestDto): Promise<JobResponseDto> {
    return this.models.pull(body.model, body.revision);
  }

  @Get(MODEL_ID_PATHS)
  @ApiModelId()
  @ApiOperation({ summary: 'Describe one model; `org/name` may be sent as two segments or URL-encoded, a path id URL-encoded' })
  @ApiOkResponse({ type: ModelDto })
  @ApiErrorResponses(400, 404)
  retrieve(@ModelIdParam() id: string): Promise<ModelDto> {
    return this.models.retrieve(id);
  }

  @Delete(MODEL_ID_PATHS)
  @ApiModelId()
  @ApiOperation({ summary: "Delete a model's files from the Hugging Face cache; refused (409) while a worker has it loaded" })
  @ApiOkResponse({ type: ModelDeletedResponseDto })
  @AdminOnly()
  @ApiErrorResponses(400, 401, 403, 404, 409)
  remove(@ModelIdParam() id: string): Promise<ModelDeletedResponseDto> {
    return this.models.remove(id);
  }

  @Post(withSuffix('load'))
  @HttpCode(200)
  @ApiModelId()
  @ApiOperation({ summary: 'Load a chat model on a worker ahead of use; 503 when it cannot fit while other models are busy' })
  @ApiOkResponse({ type: ModelDto })
  @AdminOnly()
  @ApiErrorResponses(400, 401, 403, 404, 503)
  load(@ModelIdParam() id: string): Promise<ModelDto> {
    return this.models.load(id);
  }

  @Post(withSuffix('unload'))
  @HttpCode(200)
  @ApiModelId()
  @ApiOperation({ summary: 'Unload a model from every worker; refused (409) while requests use it' })
  @ApiOkResponse({ type: ModelDto })
  @AdminOnly()
  @ApiErrorResponses(401, 403, 404, 409)
  unload(@ModelIdParam() id: string): Promise<ModelDto> {
    return this.models.unload(id);
  }
}
