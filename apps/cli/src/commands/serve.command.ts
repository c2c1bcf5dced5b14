import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '@mlx-omni/config';
import { createLogger } from '@mlx-omni/logging';
import { builtBlasShim } from '@mlx-omni/mlx-native/blas-shim';
import type { CliCommand, CliOption, CommandInput, Env } from '../command';
import { UsageError } from '../command';
import { runUntilSignalled } from '../supervisor/run-until-signalled';
import { Supervisor } from '../supervisor/supervisor';

/** Each flag sets one environment variable, so the children read the merged value through loadConfig like any other. */
const FLAGS: Record<string, { env: string; valueName: string; description: string }> = {
  port: { env: 'PORT', valueName: 'n', description: 'HTTP port of the API' },
  host: { env: 'HOST', valueName: 'host', description: 'address the API listens on' },
  workers: { env: 'WORKERS', valueName: 'n', description: 'inference worker processes' },
  'log-level': { env: 'MLX_OMNI_LOG_LEVEL', valueName: 'level', description: 'log level of every process' },
};

// This file compiles to dist/apps/cli/src/commands/; the apps sit beside the CLI in dist/apps/.
const DIST_APPS = resolve(__dirname, '..', '..', '..');
const API_ENTRY = resolve(DIST_APPS, 'api', 'src', 'main.js');
const WORKER_ENTRY = resolve(DIST_APPS, 'inference-worker', 'src', 'main.js');

/** The environment with the flags given on the command line written over it. */
export function applyFlags(values: CommandInput['values'], env: Env): Env {
  const merged = { ...env };
  for (const [flag, { env: name }] of Object.entries(FLAGS)) {
    const value = values[flag];
    if (typeof value === 'string') {
      merged[name] = value;
    }
  }
  return merged;
}

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'run the API, the inference workers and, unless REDIS_URL is set, a private Redis',
  synopsis: '[options]',
  options: Object.fromEntries(
    Object.entries(FLAGS).map(([flag, { env, valueName, description }]): [string, CliOption] => [
      flag,
      { type: 'string', valueName, description: `${description} (sets ${env})` },
    ]),
  ),

  async run(input, { env, output }) {
    if (input.positionals.length > 0) {
      throw new UsageError(`serve takes no arguments, got "${input.positionals.join(' ')}"`);
    }
    const childEnv = applyFlags(input.values, env);
    // Validated here, before anything starts, so a bad setting is one line and not a crash loop of children.
    const config = loadConfig(childEnv);
    const unbuilt = [API_ENTRY, WORKER_ENTRY].filter((entry) => !existsSync(entry));
    if (unbuilt.length > 0) {
      output.err(`mlx-omni-server: ${unbuilt.join(' and ')} missing; run "npm run build" first`);
      return 1;
    }
    const logger = createLogger({ level: config.logLevel, format: config.logFormat }, 'supervisor');
    const supervisor = new Supervisor({ config, env: childEnv, apiEntry: API_ENTRY, workerEntry: WORKER_ENTRY, logger, blasShim: builtBlasShim() });
    return runUntilSignalled(supervisor, logger, process);
  },
};
