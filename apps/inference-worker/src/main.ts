import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadConfigOrExit, requireRedisUrl } from '@mlx-omni/config';
import { createLogger, PinoNestLogger } from '@mlx-omni/logging';
import { ShutdownCoordinator } from './shutdown/shutdown-coordinator';
import { WorkerModule } from './worker.module';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit('inference-worker', process.env, requireRedisUrl);
  const logger = createLogger(config.logLevel, 'inference-worker', { workerId: config.workerId });
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    logger: new PinoNestLogger(logger),
  });
  app.get(ShutdownCoordinator).install(app);
  logger.info('Worker ready');
}

void bootstrap();
