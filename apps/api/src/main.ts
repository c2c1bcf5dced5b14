import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfigOrExit, requireRedisUrl, type OmniConfig } from '@mlx-omni/config';
import { createLogger, PinoNestLogger } from '@mlx-omni/logging';
import { EXIT_STARTUP_FAILED, listenFailure, startSupervisedChild } from '@mlx-omni/supervision';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { installSwagger } from './common/openapi/openapi-document';
import { createFastifyAdapter, installHttpHooks, installMultipart } from './http-server';
import { LifecycleService } from './lifecycle/lifecycle.service';

async function bootstrap(config: OmniConfig, logger: Logger): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), createFastifyAdapter(config, logger), {
    logger: new PinoNestLogger(logger),
  });
  await installMultipart(app);
  installSwagger(app);
  // After init, so the error handler below replaces the one Nest registers there.
  await app.init();
  installHttpHooks(app);
  try {
    await app.listen(config.port, config.host);
  } catch (error) {
    const reason = listenFailure(error, config.host, config.port);
    if (reason === undefined) {
      throw error;
    }
    logger.fatal(reason);
    process.exit(EXIT_STARTUP_FAILED);
  }
  logger.info({ url: await app.getUrl() }, 'API listening');

  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    // Readiness turns 503 at once, and new requests get 503 while in-flight ones finish. The port
    // stays open meanwhile: a load balancer acts on those 503s, where a closed port only says "down".
    const lifecycle = app.get(LifecycleService);
    lifecycle.startDraining();
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'Draining before exit');
    const deadline = setTimeout(() => {
      logger.warn('Grace period over; exiting with requests still open');
      process.exit(1);
    }, config.shutdownGraceMs);
    deadline.unref();
    await lifecycle.whenIdle();
    await app.close();
    logger.info('Stopped');
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

const config = loadConfigOrExit('api', process.env, requireRedisUrl);
const logger = createLogger({ level: config.logLevel, format: config.logFormat }, 'api');
startSupervisedChild('API', logger, () => bootstrap(config, logger));
