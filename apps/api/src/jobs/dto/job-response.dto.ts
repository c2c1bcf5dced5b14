import { ApiProperty } from '@nestjs/swagger';

export const JOB_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children', 'unknown'] as const;
export type JobState = (typeof JOB_STATES)[number];

export class JobErrorDto {
  @ApiProperty()
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
  @ApiProperty({ example: '5f0c6a3e-1f4b-4c1e-9d2a-6f1b7f0f9a10' })
  id!: string;

  @ApiProperty({ example: 'job' })
  object!: 'job';

  @ApiProperty({ example: 'diagnostics' })
  queue!: string;

  @ApiProperty({ example: 'matmul-self-test' })
  name!: string;

  @ApiProperty({ enum: JOB_STATES })
  status!: JobState;

  @ApiProperty({
    description: 'Progress the processor reported: a percentage, or an object such as bytes and files done',
    oneOf: [{ type: 'number' }, { type: 'object' }, { type: 'string' }, { type: 'boolean' }],
  })
  progress!: number | object | string | boolean;

  @ApiProperty()
  attempts_made!: number;

  @ApiProperty({ type: String, nullable: true, description: 'Name of the API key that created the job ("anonymous" when keys are off; null when unknown)' })
  owner!: string | null;

  @ApiProperty({ description: 'Unix seconds' })
  created_at!: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Unix seconds' })
  finished_at!: number | null;

  @ApiProperty({ type: Object, nullable: true, description: "The processor's result once completed" })
  result!: unknown;

  @ApiProperty({ type: JobErrorDto, nullable: true })
  error!: JobErrorDto | null;
}
