import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Caller } from '@mlx-omni/api-keys';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { ArtifactStore, artifactsDir, type ArtifactRef } from '@mlx-omni/jobs';
import { ApiError } from '../common/errors/api-error';
import type { FileObjectDto } from './dto/file-object.dto';

const SWEEP_INTERVAL_MS = 60_000;

/**
 * Serves the files long jobs wrote under the state directory (see ArtifactStore), to the key whose job
 * made them or an admin, until they expire; expired ones are swept once a minute.
 */
@Injectable()
export class FilesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FilesService.name);
  private readonly store: ArtifactStore;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(@Inject(OMNI_CONFIG) config: OmniConfig) {
    this.store = new ArtifactStore(artifactsDir(config.stateDir));
  }

  onApplicationBootstrap(): void {
    this.sweeper = setInterval(() => {
      this.store.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'Could not sweep expired job files'));
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  async describe(id: string, caller: Caller): Promise<FileObjectDto> {
    return toFileObject((await this.open(id, caller)).ref);
  }

  /** The file's path and type, for streaming; 404 when unknown or expired, 403 for another key's file. */
  async open(id: string, caller: Caller): Promise<{ ref: ArtifactRef; path: string }> {
    const found = await this.store.find(id);
    if (found === undefined) {
      throw new ApiError(404, `No file with id "${id}" (files jobs produce expire after MLX_OMNI_ARTIFACT_TTL_S)`, {
        code: 'file_not_found',
        param: 'file_id',
      });
    }
    if (caller.role !== 'admin' && found.owner !== caller.name) {
      throw new ApiError(403, `File "${id}" belongs to another key; only admin keys read other keys' files`, {
        code: 'insufficient_permissions',
        param: 'file_id',
      });
    }
    return found;
  }
}

export function toFileObject(ref: ArtifactRef): FileObjectDto {
  return {
    id: ref.id,
    object: 'file',
    bytes: ref.bytes,
    created_at: ref.created_at,
    expires_at: ref.expires_at,
    filename: ref.filename,
    purpose: 'output',
    status: 'processed',
    content_type: ref.content_type,
  };
}
