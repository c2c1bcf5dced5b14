import { Global, Module } from '@nestjs/common';
import { loadConfig, type OmniConfig } from './config';

/** Injection token for the validated configuration object. */
export const OMNI_CONFIG = Symbol('OMNI_CONFIG');

/**
 * Provides the configuration read once at start-up. `main.ts` loads it before Nest boots (so a bad
 * setting ends start-up with one sentence) and hands it in here.
 */
@Global()
@Module({})
export class OmniConfigModule {
  static forRoot(config: OmniConfig = loadConfig()) {
    return {
      module: OmniConfigModule,
      providers: [{ provide: OMNI_CONFIG, useValue: config }],
      exports: [OMNI_CONFIG],
    };
  }
}
