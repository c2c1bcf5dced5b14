import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { OmniConfigModule, type OmniConfig } from '@mlx-omni/config';
import { AnthropicModule } from './anthropic/anthropic.module';
import { AudioModule } from './audio/audio.module';
import { AuthModule } from './auth/auth.module';
import { EmbeddingsModule } from './embeddings/embeddings.module';
import { RerankModule } from './rerank/rerank.module';
import { createValidationPipe } from './common/errors/validation';
import { FilesModule } from './files/files.module';
import { HealthModule } from './health/health.module';
import { ImagesModule } from './images/images.module';
import { JobsModule } from './jobs/jobs.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { MetricsModule } from './metrics/metrics.module';
import { ModelsModule } from './models/models.module';
import { RateLimitsModule } from './rate-limits/rate-limits.module';
import { RedisModule } from './redis/redis.module';
import { SelfTestModule } from './self-test/self-test.module';
import { ChatModule } from './openai/chat/chat.module';
import { CompletionsModule } from './openai/completions/completions.module';
import { ResponsesModule } from './openai/responses/responses.module';
import { SpeechModule } from './speech/speech.module';
import { SurfaceExceptionFilter } from './surface-errors';
import { WorkersModule } from './workers/workers.module';

@Module({})
export class AppModule {
  static forRoot(config: OmniConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        OmniConfigModule.forRoot(config),
        LifecycleModule,
        RedisModule,
        AuthModule,
        RateLimitsModule,
        WorkersModule,
        JobsModule,
        FilesModule,
        HealthModule,
        MetricsModule,
        ModelsModule,
        SelfTestModule,
        ChatModule,
        CompletionsModule,
        ResponsesModule,
        EmbeddingsModule,
        RerankModule,
        ImagesModule,
        AudioModule,
        SpeechModule,
        AnthropicModule,
      ],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: SurfaceExceptionFilter },
      ],
    };
  }
}
