import { Global, Module } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';
import { CallerContext, CallerContextInterceptor } from './caller-context';
import { KeyStore } from './key-store.service';

/** API keys: the global guard, the key store it checks against, and the caller of the current request. */
@Global()
@Module({
  providers: [
    KeyStore,
    CallerContext,
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_INTERCEPTOR, useClass: CallerContextInterceptor },
  ],
  exports: [CallerContext],
})
export class AuthModule {}
