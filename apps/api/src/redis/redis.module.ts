import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { OMNI_CONFIG, requireRedisUrl, type OmniConfig } from '@mlx-omni/config';
import { producerConnectionOptions, redactRedisUrl, RedisLinkMonitor } from '@mlx-omni/jobs';

/** A fail-fast Redis client for health checks, metrics, rate limits and gating the job routes (BullMQ queues keep their own connections). */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

@Global()
@Module({
  providers: [
    {
      provide: RedisLinkMonitor,
      inject: [OMNI_CONFIG],
      useFactory: (config: OmniConfig) => new RedisLinkMonitor(new Logger('Redis'), redactRedisUrl(requireRedisUrl(config))),
    },
    {
      provide: REDIS_CLIENT,
      inject: [OMNI_CONFIG, RedisLinkMonitor],
      useFactory: (config: OmniConfig, link: RedisLinkMonitor) => {
        const client = new Redis(producerConnectionOptions(requireRedisUrl(config)));
        // This client's state is the API's view of Redis: its outages and recoveries are the lines logged.
        link.watch(client);
        return client;
      },
    },
  ],
  exports: [REDIS_CLIENT, RedisLinkMonitor],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
