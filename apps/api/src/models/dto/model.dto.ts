import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MODEL_KINDS, type ModelKind } from '@mlx-omni/model-families';

export class QuantizationDto {
  @ApiProperty({ example: 4 })
  bits!: number;

  @ApiProperty({ example: 64 })
  group_size!: number;
}

/** Where a model is loaded: the worker and the pool's facts about it there. */
export class ModelLoadDto {
  @ApiProperty({ example: 'worker-1' })
  worker_id!: string;

  @ApiProperty({ description: 'Unix seconds' })
  loaded_at!: number;

  @ApiProperty({ description: 'Seconds the load took' })
  load_seconds!: number;

  @ApiProperty({ description: 'Preloaded (MLX_OMNI_PRELOAD_MODELS) and never evicted' })
  pinned!: boolean;

  @ApiProperty({ description: 'Requests using it now; a model in use is never evicted' })
  active_requests!: number;
}

/** OpenAI's model object, with what this server knows about the model on disk and in memory. */
export class ModelDto {
  @ApiProperty({ example: 'mlx-community/Qwen3-4B-4bit', description: 'The repo id (optionally @revision) or absolute folder path requests name it by' })
  id!: string;

  @ApiProperty({ example: 'model' })
  object!: 'model';

  @ApiProperty({ description: 'Unix seconds: when its files last changed (for the hub cache: when the download finished)' })
  created!: number;

  @ApiProperty({ example: 'mlx-community', description: "The repo's organisation, or `local` for models without one" })
  owned_by!: string;

  @ApiProperty({ enum: MODEL_KINDS, description: 'What the server can do with it: which routes serve it' })
  kind!: ModelKind;

  @ApiProperty({ example: 'qwen3', description: 'Its family (the model_type for chat architectures) in the server\'s table of model families' })
  family!: string;

  @ApiProperty({ description: 'Whether this server runs the family; requests for an unsupported model answer 400 model_not_supported' })
  supported!: boolean;

  @ApiProperty({ description: 'Bytes on disk, each blob counted once' })
  size_bytes!: number;

  @ApiProperty({ type: QuantizationDto, nullable: true })
  quantization!: QuantizationDto | null;

  @ApiProperty({ type: Number, nullable: true, example: 40960, description: 'Trained context length from config.json' })
  context_length!: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 4096,
    description: 'Chat models: the most tokens a chat completion generates when the request sets no max_tokens (MLX_OMNI_DEFAULT_MAX_TOKENS)',
  })
  default_max_tokens!: number | null;

  @ApiProperty({ type: String, nullable: true, description: 'The snapshot commit, for models from the Hugging Face cache' })
  revision!: string | null;

  @ApiProperty({ type: [String], description: 'Ids of the workers that have it loaded' })
  loaded_on!: string[];

  @ApiProperty({ type: [ModelLoadDto] })
  loads!: ModelLoadDto[];

  @ApiProperty({ type: () => [ModelCompanionDto], description: 'Other repos it takes files from (DiffusionKit FLUX: its text encoders; F5-TTS: its Vocos vocoder; a Whisper conversion: its tokenizer); pulling the model pulls them' })
  companions!: ModelCompanionDto[];

  @ApiPropertyOptional({ example: 'mlx-community/Qwen3-4B-4bit', description: 'Present on an alias (MLX_OMNI_MODEL_ALIASES): the model it stands for' })
  alias_of?: string;
}

export class ModelCompanionDto {
  @ApiProperty({ example: 'argmaxinc/stable-diffusion' })
  repo!: string;

  @ApiProperty({ example: 'the CLIP-L and T5-XXL text encoders and the CLIP tokenizer' })
  provides!: string;

  @ApiProperty({ description: 'Whether it is in the cache; the model cannot load until it is' })
  cached!: boolean;
}

export class ModelListResponseDto {
  @ApiProperty({ example: 'list' })
  object!: 'list';

  @ApiProperty({ type: [ModelDto] })
  data!: ModelDto[];
}

/** OpenAI's delete answer, with the space it gave back. */
export class ModelDeletedResponseDto {
  @ApiProperty()
  id!: string;

  @ApiProperty({ example: 'model' })
  object!: 'model';

  @ApiProperty({ example: true })
  deleted!: true;

  @ApiProperty({ description: 'Bytes the removed files held' })
  freed_bytes!: number;
}
