import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, type OmniConfig } from '@mlx-omni/config';
import { QUEUE_SETTINGS } from '@mlx-omni/jobs';
import { deleteModel, listModels, ModelHubError, type ResolvedModel } from '@mlx-omni/model-hub';
import type { CliCommand, CliOutput, CommandInput } from '../command';
import { UsageError } from '../command';
import { localUrl } from '../supervisor/ready-announcer';
import { formatBytes, PullProgress, type PullJob } from './pull-progress';

const POLL_MS = 1_000;
/** Without a terminal to redraw a line in, a progress line is printed at most this often (and on every change of state). */
const PLAIN_PROGRESS_MS = 5_000;

interface ApiModel {
  id: string;
  kind: string;
  size_bytes: number;
  quantization: { bits: number } | null;
  loaded_on: string[];
}

class ApiError extends Error {}

/** Where the CLI finds the server and what it authenticates with. */
interface ServerAccess {
  base: string;
  key: string | undefined;
}

/** `--api-key`, else MLX_OMNI_CLI_KEY, else the server's own MLX_OMNI_API_KEY when this shell has it. */
function serverAccess(config: OmniConfig, input: CommandInput): ServerAccess {
  const flag = input.values['api-key'];
  return { base: localUrl(config), key: typeof flag === 'string' ? flag : (config.cliKey ?? config.apiKey) };
}

/** What to do about a refusal, in the CLI's own terms rather than the API's headers. */
function refusal(status: number, message: string, access: ServerAccess): string {
  if (status === 401) {
    return access.key === undefined
      ? `the server needs an API key: pass --api-key KEY or set MLX_OMNI_CLI_KEY (create one with "mlx-omni-server keys add NAME --role admin")`
      : `the server refused the API key (${message}); pass another with --api-key KEY or MLX_OMNI_CLI_KEY`;
  }
  if (status === 403) {
    return `${message}; pulling and deleting models need an admin key (--api-key KEY or MLX_OMNI_CLI_KEY)`;
  }
  return message;
}

/** Undefined when nothing listens there (the server is not running); the API's own error message otherwise. */
async function callApi<T>(access: ServerAccess, method: string, path: string, body?: object): Promise<T | undefined> {
  let response: Response;
  try {
    response = await fetch(`${access.base}${path}`, {
      method,
      // A content type without a body is refused by the server's JSON parser, so it goes only with one.
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(access.key === undefined ? {} : { authorization: `Bearer ${access.key}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if ((error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') {
      return undefined;
    }
    throw error;
  }
  const json = (await response.json()) as T & { error?: { message: string } };
  if (!response.ok) {
    throw new ApiError(refusal(response.status, json.error?.message ?? `HTTP ${response.status}`, access));
  }
  return json;
}

/** The API's path segments: the two halves of org/name stay readable; anything else is encoded whole. */
const modelPath = (id: string): string => (/^[\w.-]+\/[\w.-]+$/.test(id) ? id : encodeURIComponent(id));

function printTable(output: CliOutput, rows: string[][]): void {
  const widths = rows[0].map((_cell, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) {
    output.out(row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
  }
}

function fromDisk(model: ResolvedModel): ApiModel {
  return { id: model.id, kind: model.kind, size_bytes: model.sizeBytes, quantization: model.quantization ?? null, loaded_on: [] };
}

async function list(config: OmniConfig, access: ServerAccess, output: CliOutput): Promise<number> {
  const fromApi = await callApi<{ data: ApiModel[] }>(access, 'GET', '/v1/models');
  const models = fromApi?.data ?? (await listModels({ hubCache: config.hfHubCache, extraDirs: config.modelDirs })).map(fromDisk);
  if (fromApi === undefined) {
    output.err(`(the server is not running at ${access.base}; listing ${config.hfHubCache} directly)`);
  }
  printTable(output, [
    ['ID', 'KIND', 'SIZE', 'QUANT', 'LOADED ON'],
    ...models.map((model) => [
      model.id,
      model.kind,
      formatBytes(model.size_bytes),
      model.quantization === null ? '-' : `${model.quantization.bits}-bit`,
      model.loaded_on.join(',') || '-',
    ]),
  ]);
  return 0;
}

async function remove(config: OmniConfig, access: ServerAccess, output: CliOutput, id: string): Promise<number> {
  const viaApi = await callApi<{ freed_bytes: number }>(access, 'DELETE', `/v1/models/${modelPath(id)}`);
  // With the server down no worker holds the model, so deleting the files directly is safe.
  const freed = viaApi?.freed_bytes ?? (await deleteModel(id, { hubCache: config.hfHubCache })).freedBytes;
  output.out(`Deleted ${id} (${formatBytes(freed)} freed)`);
  return 0;
}

async function pull(access: ServerAccess, output: CliOutput, id: string, revision: string | undefined): Promise<number> {
  const at = id.indexOf('@');
  const body = at < 0 ? { model: id, revision } : { model: id.slice(0, at), revision: revision ?? id.slice(at + 1) };
  let job = await callApi<PullJob>(access, 'POST', '/v1/models/pull', body);
  if (job === undefined) {
    output.err(`mlx-omni-server: no server at ${access.base}; downloads run in its workers, start it with "mlx-omni-server serve"`);
    return 1;
  }
  output.out(`Pulling ${id} (job ${job.id}; "curl -X DELETE ${access.base}/v1/jobs/${job.id}" cancels it)`);
  const progress = new PullProgress(QUEUE_SETTINGS['model-download'].attempts);
  let printed = { line: '', status: '', at: 0 };
  for (;;) {
    const now = Date.now();
    const line = progress.describe(job, now);
    if (output.progress !== undefined) {
      output.progress(line);
    } else if (line !== printed.line && (job.status !== printed.status || now - printed.at >= PLAIN_PROGRESS_MS)) {
      output.out(line);
      printed = { line, status: job.status, at: now };
    }
    if (job.status === 'completed' || job.status === 'failed') {
      break;
    }
    await sleep(POLL_MS);
    job = (await callApi<PullJob>(access, 'GET', `/v1/jobs/${job.id}`))!;
  }
  if (job.status === 'failed') {
    output.err(`mlx-omni-server: pulling ${id} failed: ${job.error?.message}`);
    return 1;
  }
  output.out(`Pulled ${id} into ${job.result?.path}`);
  return 0;
}

export const modelsCommand: CliCommand = {
  name: 'models',
  summary: 'list, pull or delete models (through the running server; list and rm read the cache directly when it is down)',
  synopsis: 'list | pull <org/name>[@revision] [--revision <rev>] | rm <id>',
  options: {
    revision: { type: 'string', valueName: 'rev', description: 'branch, tag or commit to pull (default main)' },
    'api-key': { type: 'string', valueName: 'key', description: 'key sent to the server (default $MLX_OMNI_CLI_KEY, else $MLX_OMNI_API_KEY)' },
  },
  environment: ['PORT', 'HOST', 'MLX_OMNI_CLI_KEY', 'MLX_OMNI_API_KEY', 'HF_HOME', 'HF_HUB_CACHE', 'MLX_OMNI_MODEL_DIRS'],

  async run(input, { env, output }) {
    const [action, id, ...extra] = input.positionals;
    const config = loadConfig(env);
    const access = serverAccess(config, input);
    const needsId = action === 'pull' || action === 'rm';
    if (extra.length > 0 || (needsId && id === undefined) || (action === 'list' && id !== undefined)) {
      throw new UsageError(`usage: models ${modelsCommand.synopsis}`);
    }
    try {
      switch (action) {
        case 'list':
          return await list(config, access, output);
        case 'pull':
          return await pull(access, output, id!, input.values.revision as string | undefined);
        case 'rm':
          return await remove(config, access, output, id!);
        default:
          throw new UsageError(`models needs an action: ${modelsCommand.synopsis}`);
      }
    } catch (error) {
      if (error instanceof ApiError || error instanceof ModelHubError) {
        output.err(`mlx-omni-server: ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};
