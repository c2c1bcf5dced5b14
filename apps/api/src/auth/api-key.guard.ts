import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../common/errors/api-error';
import { ADMIN_ONLY } from './admin-only.decorator';
import { ANONYMOUS, isOperationsPath } from './caller';
import { KeyStore } from './key-store.service';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** OpenAI clients send `Authorization: Bearer KEY`; Anthropic's send `x-api-key: KEY`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const bearer = BEARER.exec(request.headers.authorization ?? '')?.[1];
  const apiKey = request.headers['x-api-key'];
  return bearer ?? (typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined);
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, message, { code: 'invalid_api_key', headers: { 'www-authenticate': 'Bearer' } });
}

/** Registered as APP_GUARD: every route needs a valid key once keys are configured, admin routes an admin key. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly keys: KeyStore,
    private readonly reflector: Reflector,
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (isOperationsPath(request.url) && !this.config.protectOps) {
      return true;
    }
    if (!this.keys.enabled) {
      request.caller = ANONYMOUS;
      return true;
    }
    const key = presentedKey(request);
    if (key === undefined) {
      throw unauthorized('You didn\'t provide an API key. Send it as "Authorization: Bearer KEY" or "x-api-key: KEY".');
    }
    const caller = await this.keys.authenticate(key);
    if (caller === undefined) {
      throw unauthorized('Incorrect API key provided.');
    }
    request.caller = caller;
    const adminOnly = this.reflector.getAllAndOverride<boolean | undefined>(ADMIN_ONLY, [context.getHandler(), context.getClass()]);
    if (adminOnly === true && caller.role !== 'admin') {
      throw new ApiError(403, `This route needs an admin key; key "${caller.name}" has role ${caller.role}`, {
        code: 'insufficient_permissions',
      });
    }
    return true;
  }
}
