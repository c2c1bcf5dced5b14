import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadConfigOrExit, requireRedisUrl, type OmniConfig } from '@mlx-omni/config';
import { createLogger, PinoNestLogger } from '@mlx-omni/logging';
import { startSupervisedChild } from '@mlx-omni/supervision';
import type { Logger } from 'pino';
import { ShutdownCoordinator } from './shutdown/shutdown-coordinator';
import { WorkerModule } from './worker.module';

async function bootstrap(config: OmniConfig, logger: Logger): Promise<void> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    logger: new PinoNestLogger(logger),
  });
  app.get(ShutdownCoordinator).install(app);
  logger.info('Worker ready');
}

const config = loadConfigOrExit('inference-worker', process.env, requireRedisUrl);
const logger = createLogger({ level: config.logLevel, format: config.logFormat }, 'inference-worker', { workerId: config.workerId });
startSupervisedChild('Worker', logger, () => bootstrap(config, logger));
