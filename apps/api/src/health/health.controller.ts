import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { ApiError } from '../common/errors/api-error';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { ReadinessIndicators } from './readiness.indicators';

/** Terminus answers 503 with its own body; this keeps the OpenAI envelope and names the failing checks in it. */
function notReady(error: unknown): never {
  if (!(error instanceof ServiceUnavailableException)) {
    throw error;
  }
  const result = error.getResponse() as HealthCheckResult;
  const failing = Object.entries(result.error ?? {}).map(([name, check]) => {
    const message = (check as { message?: string }).message;
    return message === undefined ? name : `${name} (${message})`;
  });
  throw new ApiError(503, `Not ready: ${failing.join(', ')}`, {
    code: 'not_ready',
    headers: { 'retry-after': '5' },
    details: result.details,
  });
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly readiness: ReadinessIndicators,
  ) {}

  @Get()
  @ApiErrorResponses()
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the API process answers' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiErrorResponses(503)
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: not shutting down, Redis reachable, at least one worker answering, free disk' })
  ready(): Promise<HealthCheckResult> {
    return this.health
      .check([
      () => this.readiness.accepting(),
      () => this.readiness.redisReachable(),
      () => this.readiness.workersAnswering(),
      () => this.readiness.freeDisk(),
      ])
      .catch(notReady);
  }
}
