import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Caller } from '@mlx-omni/api-keys';
import { CurrentCaller } from '../auth/current-caller.decorator';
import { ApiError } from '../common/errors/api-error';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { JobResponseDto } from './dto/job-response.dto';
import { JobsService } from './jobs.service';

@ApiTags('jobs')
@Controller('v1/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get(':id')
  @ApiOperation({ summary: 'The state, progress and result of a long job (image, speech, model download, self-test)' })
  @ApiParam({ name: 'id', description: 'The id returned when the job was created' })
  @ApiOkResponse({ type: JobResponseDto })
  @ApiErrorResponses(401, 403, 404, 503)
  async get(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<JobResponseDto> {
    const job = await this.jobs.find(id);
    if (job === undefined) {
      throw new ApiError(404, `No job with id "${id}"`, { code: 'job_not_found', param: 'id' });
    }
    if (caller.role !== 'admin' && job.owner !== caller.name) {
      throw new ApiError(403, `Job "${id}" belongs to another key; only admin keys see other keys' jobs`, {
        code: 'insufficient_permissions',
        param: 'id',
      });
    }
    return job;
  }
}
