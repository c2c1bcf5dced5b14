import { Controller, Delete, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Caller } from '@mlx-omni/api-keys';
import { CurrentCaller } from '../auth/current-caller.decorator';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { JobDeletedResponseDto, JobListQueryDto, JobListResponseDto, JobResponseDto } from './dto/job-response.dto';
import { JobsService } from './jobs.service';

const JOB_ID = { name: 'id', description: 'The id returned when the job was created', example: '5f0c6a3e-1f4b-4c1e-9d2a-6f1b7f0f9a10' };

@ApiTags('jobs')
@Controller('v1/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get()
  @ApiOperation({
    summary: 'List long jobs, newest first: every key’s for an admin key, the caller’s own otherwise',
    description: 'Queued jobs survive a restart of the private Redis (`dump.rdb` in the state directory): list them here and DELETE those nobody wants.',
  })
  @ApiErrorResponses(400, 401, 503)
  async list(@Query() query: JobListQueryDto, @CurrentCaller() caller: Caller): Promise<JobListResponseDto> {
    return { object: 'list', data: await this.jobs.list(query, caller) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'The state, progress and result of a long job (model download, self-test)' })
  @ApiParam(JOB_ID)
  @ApiErrorResponses(401, 403, 404, 503)
  get(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<JobResponseDto> {
    return this.jobs.findFor(id, caller);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Cancel and delete a job: a queued one is removed, a running one is stopped on its worker first' })
  @ApiParam(JOB_ID)
  @ApiErrorResponses(401, 403, 404, 409, 503)
  remove(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<JobDeletedResponseDto> {
    return this.jobs.remove(id, caller);
  }
}
