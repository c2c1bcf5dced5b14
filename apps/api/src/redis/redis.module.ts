import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { OMNI_CONFIG, requireRedisUrl, type OmniConfig } from '@mlx-omni/config';
import { producerConnectionOptions } from '@mlx-omni/jobs';

/** A fail-fast Redis client for health checks and metrics (BullMQ queues keep their own connections). */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [OMNI_CONFIG],
      useFactory: (config: OmniConfig) => new Redis(producerConnectionOptions(requireRedisUrl(config))),
    },
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
