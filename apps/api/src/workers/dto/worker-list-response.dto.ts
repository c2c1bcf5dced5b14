import { ApiProperty } from '@nestjs/swagger';

export class WorkerMemoryDto {
  @ApiProperty({ description: 'Resident set size of the worker process' })
  rss_bytes!: number;

  @ApiProperty({ description: 'Bytes held by MLX (Metal only; 0 on the CPU backend)' })
  mlx_active_bytes!: number;

  @ApiProperty()
  mlx_peak_bytes!: number;

  @ApiProperty()
  mlx_cache_bytes!: number;
}

export class ModelBatchDto {
  @ApiProperty({ description: 'Requests in the batch (prefilling or decoding)' })
  running!: number;

  @ApiProperty({ description: 'Requests waiting for a place in the batch (MLX_OMNI_BATCH_MAX_ROWS, MLX_OMNI_KV_CACHE_BYTES)' })
  waiting!: number;

  @ApiProperty({ description: 'Sequences decoding now; a request with n choices has n' })
  running_rows!: number;

  @ApiProperty()
  max_rows!: number;

  @ApiProperty({ description: 'Keys and values the running sequences hold' })
  kv_cache_bytes!: number;

  @ApiProperty({ description: 'Keys and values kept for prompts that start the same way' })
  prompt_cache_bytes!: number;

  @ApiProperty({ description: 'Prompt tokens served from the prompt cache since the model loaded' })
  prompt_cache_hit_tokens!: number;
}

export class LoadedModelDto {
  @ApiProperty({ example: 'mlx-community/Qwen3-4B-4bit' })
  id!: string;

  @ApiProperty()
  size_bytes!: number;

  @ApiProperty({ description: 'Unix seconds' })
  loaded_at!: number;

  @ApiProperty({ type: ModelBatchDto, required: false, description: "A chat model's continuous batching and prompt cache" })
  batch?: ModelBatchDto;
}

export class WorkerDto {
  @ApiProperty({ example: 'worker-1' })
  id!: string;

  @ApiProperty({ example: 'worker' })
  object!: 'worker';

  @ApiProperty({ description: 'Answering heartbeats' })
  up!: boolean;

  @ApiProperty({ description: 'Shutting down: finishing its work and taking none' })
  draining!: boolean;

  @ApiProperty({ type: Number, nullable: true })
  pid!: number | null;

  @ApiProperty({ enum: ['cpu', 'gpu'], nullable: true })
  device!: 'cpu' | 'gpu' | null;

  @ApiProperty({ description: 'Requests this API process has in flight on the worker' })
  in_flight!: number;

  @ApiProperty({ description: 'Requests the worker reported running at its last heartbeat (all API processes together)' })
  active_requests!: number;

  @ApiProperty({ description: 'Requests the worker runs or holds before it refuses more' })
  max_pending!: number;

  @ApiProperty({ type: [LoadedModelDto] })
  loaded_models!: LoadedModelDto[];

  @ApiProperty({ type: WorkerMemoryDto, nullable: true })
  memory!: WorkerMemoryDto | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Unix seconds of the last answered heartbeat' })
  last_seen_at!: number | null;
}

export class WorkerListResponseDto {
  @ApiProperty({ example: 'list' })
  object!: 'list';

  @ApiProperty({ type: [WorkerDto] })
  data!: WorkerDto[];
}
