import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { findKey, hashApiKey, parseKeyFile, type Caller, type StoredKey } from '@mlx-omni/api-keys';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import { readFile, stat } from 'node:fs/promises';

/** How often the keys file is looked at: `keys add` and `keys revoke` take effect within this. */
const RECHECK_MS = 1_000;

/** Name under which MLX_OMNI_API_KEY shows in logs, metrics and job owners. */
export const ENV_KEY_NAME = 'admin';

/**
 * The valid keys: MLX_OMNI_API_KEY (one admin) and those in MLX_OMNI_KEYS_FILE. The file is re-read
 * when its identity, size or mtime changes (the CLI replaces it by rename), so no restart is needed.
 */
@Injectable()
export class KeyStore implements OnModuleInit {
  private readonly logger = new Logger(KeyStore.name);
  private readonly envKeys: StoredKey[];
  private fileKeys: StoredKey[] = [];
  private fileStamp = '';
  private checkedAt = 0;

  constructor(@Inject(OMNI_CONFIG) private readonly config: OmniConfig) {
    this.envKeys = config.apiKey === undefined ? [] : [{ name: ENV_KEY_NAME, role: 'admin', hash: hashApiKey(config.apiKey), created_at: '' }];
  }

  /** Keys are off (the API is open) when neither setting is given. */
  get enabled(): boolean {
    return this.config.apiKey !== undefined || this.config.keysFile !== undefined;
  }

  /** A keys file that cannot be read or parsed at start stops the API with its reason. */
  async onModuleInit(): Promise<void> {
    if (this.config.keysFile !== undefined) {
      await this.reload(this.config.keysFile);
    }
  }

  async authenticate(presented: string): Promise<Caller | undefined> {
    await this.refresh();
    const key = findKey([...this.envKeys, ...this.fileKeys], presented);
    return key === undefined ? undefined : { name: key.name, role: key.role, ...(key.limits === undefined ? {} : { limits: key.limits }) };
  }

  private async refresh(): Promise<void> {
    const path = this.config.keysFile;
    const now = Date.now();
    if (path === undefined || now - this.checkedAt < RECHECK_MS) {
      return;
    }
    this.checkedAt = now;
    try {
      await this.reload(path);
    } catch (error) {
      // A hand-edited file with a typo must not lock everyone out, nor let everyone in: the last good keys stay.
      this.logger.error({ err: error, path }, 'Keys file unreadable; keeping the keys loaded before');
    }
  }

  private async reload(path: string): Promise<void> {
    const stamp = await stat(path).then(
      (info) => `${info.ino}:${info.size}:${info.mtimeMs}`,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') {
          // Not created yet (`keys add` creates it), or deleted: no keys from the file.
          return 'missing';
        }
        throw error;
      },
    );
    if (stamp !== this.fileStamp) {
      this.fileKeys = stamp === 'missing' ? [] : parseKeyFile(await readFile(path, 'utf8'), path).keys;
      this.fileStamp = stamp;
      this.logger.log({ path, keys: this.fileKeys.length }, 'Keys file loaded');
    }
  }
}
