import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { JobResponseDto } from '../jobs/dto/job-response.dto';
import { JobsService } from '../jobs/jobs.service';
import { SelfTestRequestDto } from './dto/self-test-request.dto';

@ApiTags('diagnostics')
@Controller('v1/self-test')
export class SelfTestController {
  constructor(private readonly jobs: JobsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Check a worker’s MLX backend',
    description: 'Enqueues a matrix-multiply job that a worker checks against a float64 reference and times (GFLOP/s).',
  })
  @ApiOkResponse({ type: JobResponseDto, description: 'The job finished within wait_seconds' })
  @ApiAcceptedResponse({ type: JobResponseDto, description: 'Still queued or running; poll GET /v1/jobs/{id}' })
  @ApiErrorResponses(400, 503)
  async run(@Body() body: SelfTestRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<JobResponseDto> {
    const job = await this.jobs.enqueue('diagnostics', 'matmul-self-test', { size: body.size });
    const state = await this.jobs.waitFor(job, body.wait_seconds * 1000);
    if (state.status !== 'completed' && state.status !== 'failed') {
      reply.status(202);
    }
    return state;
  }
}
