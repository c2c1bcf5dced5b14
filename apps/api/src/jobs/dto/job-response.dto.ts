import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { QUEUE_NAMES, type QueueName } from '@mlx-omni/jobs';

export const JOB_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children', 'unknown'] as const;
export type JobState = (typeof JOB_STATES)[number];
/** The states a job can be listed by (`unknown` is what a lookup of a missing job says, never a listing). */
export const LISTED_JOB_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children'] as const satisfies readonly JobState[];

export class JobErrorDto {
  /** Why the job failed, naming the cause (an HTTP status, a DNS or TLS failure, a corrupt file). */
  message!: string;

  @ApiProperty({ example: 'model_not_supported', description: 'The error code a request waiting for the job was answered with (`job_failed` for faults)' })
  code!: string;

  @ApiProperty({ example: 400, description: 'The HTTP status that request was answered with' })
  status!: number;

  @ApiProperty({ type: String, nullable: true, example: 'model' })
  param!: string | null;
}

/** A long job's state as the API reports it (not an OpenAI object: `object: "job"` marks it). */
export class JobResponseDto {
  /** The id returned when the job was created. */
  @ApiProperty({ example: '5f0c6a3e-1f4b-4c1e-9d2a-6f1b7f0f9a10' })
  id!: string;

  @ApiProperty({ enum: ['job'] })
  object!: 'job';

  @ApiProperty({ enum: QUEUE_NAMES, example: 'diagnostics' })
  queue!: string;

  @ApiProperty({ example: 'matmul-self-test' })
  name!: string;

  /** BullMQ's state: `delayed` is a failed try waiting for its retry (see `retry_at`). */
  @ApiProperty({ enum: JOB_STATES })
  status!: JobState;

  @ApiProperty({
    description: 'Progress the processor reported: a percentage, or an object such as bytes and files done',
    oneOf: [{ type: 'number' }, { type: 'object' }, { type: 'string' }, { type: 'boolean' }],
  })
  progress!: number | object | string | boolean;

  /** Tries so far; a try that failed for a transient reason is retried with backoff. */
  attempts_made!: number;

  @ApiProperty({ type: String, nullable: true, description: 'Name of the API key that created the job ("anonymous" when keys are off; null when unknown)' })
  owner!: string | null;

  /** Unix seconds. */
  created_at!: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Unix seconds' })
  finished_at!: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Unix seconds: when a `delayed` job is tried again' })
  retry_at!: number | null;

  @ApiProperty({ type: Object, nullable: true, description: "The processor's result once completed" })
  result!: unknown;

  @ApiProperty({ type: JobErrorDto, nullable: true, description: 'Why the job failed; while `delayed`, why the last try failed' })
  error!: JobErrorDto | null;
}

export class JobListQueryDto {
  /** Only jobs in this state. */
  @IsOptional()
  @IsIn(LISTED_JOB_STATES)
  state?: (typeof LISTED_JOB_STATES)[number];

  /** Only jobs of this queue. */
  @IsOptional()
  @IsIn(QUEUE_NAMES)
  queue?: QueueName;

  /** At most this many jobs, newest first. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 100;
}

export class JobListResponseDto {
  @ApiProperty({ enum: ['list'] })
  object!: 'list';

  data!: JobResponseDto[];
}

export class JobDeletedResponseDto {
  id!: string;

  @ApiProperty({ enum: ['job'] })
  object!: 'job';

  @ApiProperty({ enum: [true] })
  deleted!: true;

  /** The state it was in: a running job is stopped on its worker before it is removed. */
  @ApiProperty({ enum: JOB_STATES })
  previous_status!: JobState;
}
