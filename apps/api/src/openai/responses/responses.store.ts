import { Inject, Injectable } from '@nestjs/common';
import type { Caller } from '@mlx-omni/api-keys';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import type { ResponseObject, StoredInputItem } from '@mlx-omni/openai-dto';
import type Redis from 'ioredis';
import { ApiError } from '../../common/errors/api-error';
import { REDIS_CLIENT } from '../../redis/redis.module';

/** A stored response and the conversation that led to it. */
export interface StoredResponse {
  /** The key that created it (null when keys are off): only it and admin keys see it. */
  owner: string | null;
  response: ResponseObject;
  /**
   * Every item before the response's output: the previous responses' items, then this request's
   * input. Kept whole, so chaining needs one read and survives earlier links expiring.
   */
  conversation: StoredInputItem[];
  /** Where this request's own input starts in `conversation` (what input_items lists). */
  inputStart: number;
}

const key = (id: string): string => `mlx-omni:responses:${id}`;

function unavailable(error: unknown): ApiError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ApiError(503, `The response store (Redis) is unavailable (${reason}); retry shortly`, { code: 'store_unavailable', headers: { 'retry-after': '2' } });
}

/**
 * Responses kept in Redis for MLX_OMNI_RESPONSES_TTL_S, so any API process serves GET, DELETE and
 * `previous_response_id`. One JSON value per response, expiring on its own.
 */
@Injectable()
export class ResponsesStore {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
  ) {}

  async save(stored: StoredResponse): Promise<void> {
    try {
      await this.redis.set(key(stored.response.id), JSON.stringify(stored), 'EX', this.config.responsesTtlS);
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** The stored response `caller` may see, or a 404 that does not tell another key's apart from a missing one. */
  async find(id: string, caller: Caller, param = 'response_id'): Promise<StoredResponse> {
    let text: string | null;
    try {
      text = await this.redis.get(key(id));
    } catch (error) {
      throw unavailable(error);
    }
    const stored = text === null ? undefined : (JSON.parse(text) as StoredResponse);
    if (stored === undefined || (caller.role !== 'admin' && stored.owner !== null && stored.owner !== caller.name)) {
      throw new ApiError(404, `No response with id "${id}" is stored (responses made with store: false are not, and stored ones expire)`, { param, code: 'response_not_found' });
    }
    return stored;
  }

  async delete(id: string, caller: Caller): Promise<void> {
    await this.find(id, caller);
    try {
      await this.redis.del(key(id));
    } catch (error) {
      throw unavailable(error);
    }
  }
}
