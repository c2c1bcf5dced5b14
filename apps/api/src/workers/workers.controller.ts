import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { WorkerListResponseDto, type WorkerDto } from './dto/worker-list-response.dto';
import { WorkerRegistryService, type WorkerEntry } from './worker-registry.service';
import { unixSeconds } from '../common/unix-seconds';

@ApiTags('workers')
@Controller('v1/workers')
export class WorkersController {
  constructor(private readonly registry: WorkerRegistryService) {}

  @Get()
  @ApiOperation({ summary: 'List the inference workers, their device, memory, loaded models and load' })
  @ApiOkResponse({ type: WorkerListResponseDto })
  @ApiErrorResponses()
  list(): WorkerListResponseDto {
    return { object: 'list', data: this.registry.list().map((entry) => this.toDto(entry)) };
  }

  private toDto(entry: WorkerEntry): WorkerDto {
    const status = entry.status;
    return {
      id: entry.workerId,
      object: 'worker',
      up: this.registry.isUp(entry),
      draining: status?.draining ?? false,
      pid: status?.pid ?? null,
      device: status?.device ?? null,
      in_flight: this.registry.requestsInFlight(entry),
      active_requests: status?.activeRequests ?? 0,
      max_pending: status?.maxPending ?? 0,
      loaded_models: (status?.loadedModels ?? []).map((model) => ({
        id: model.id,
        size_bytes: model.sizeBytes,
        loaded_at: unixSeconds(Date.parse(model.loadedAt)),
        ...(model.batch === undefined
          ? {}
          : {
              batch: {
                running: model.batch.running,
                waiting: model.batch.waiting,
                running_rows: model.batch.rows,
                max_rows: model.batch.maxRows,
                kv_cache_bytes: model.batch.kvBytes,
                prompt_cache_bytes: model.batch.promptCacheBytes,
                prompt_cache_hit_tokens: model.batch.prefixCacheHitTokens,
              },
            }),
      })),
      memory: status
        ? {
            rss_bytes: status.memory.rssBytes,
            mlx_active_bytes: status.memory.mlxActiveBytes,
            mlx_peak_bytes: status.memory.mlxPeakBytes,
            mlx_cache_bytes: status.memory.mlxCacheBytes,
          }
        : null,
      last_seen_at: entry.lastSeenAt === undefined ? null : unixSeconds(entry.lastSeenAt),
    };
  }
}
