import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, type OmniConfig } from '@mlx-omni/config';
import { deleteModel, listModels, ModelHubError, type ResolvedModel } from '@mlx-omni/model-hub';
import type { CliCommand, CliOutput } from '../command';
import { UsageError } from '../command';

const POLL_MS = 1_000;

interface ApiModel {
  id: string;
  kind: string;
  size_bytes: number;
  quantization: { bits: number } | null;
  loaded_on: string[];
}

interface ApiJob {
  id: string;
  status: string;
  progress: { bytes_done?: number; bytes_total?: number; files_done?: number; files_total?: number } | number;
  result: { path?: string } | null;
  error: { message: string } | null;
}

class ApiError extends Error {}

/** The running server, reached the way its configuration says it listens; a wildcard address is reached on loopback. */
function apiBase(config: OmniConfig): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

/** Undefined when nothing listens there (the server is not running); the API's own error message otherwise. */
async function callApi<T>(config: OmniConfig, method: string, path: string, body?: object): Promise<T | undefined> {
  let response: Response;
  try {
    response = await fetch(`${apiBase(config)}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(config.apiKey === undefined ? {} : { authorization: `Bearer ${config.apiKey}` }) },
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
    throw new ApiError(json.error?.message ?? `HTTP ${response.status}`);
  }
  return json;
}

const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(2)} GB`;
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

async function list(config: OmniConfig, output: CliOutput): Promise<number> {
  const fromApi = await callApi<{ data: ApiModel[] }>(config, 'GET', '/v1/models');
  const models = fromApi?.data ?? (await listModels({ hubCache: config.hfHubCache, extraDirs: config.modelDirs })).map(fromDisk);
  if (fromApi === undefined) {
    output.err(`(the server is not running at ${apiBase(config)}; listing ${config.hfHubCache} directly)`);
  }
  printTable(output, [
    ['ID', 'KIND', 'SIZE', 'QUANT', 'LOADED ON'],
    ...models.map((model) => [
      model.id,
      model.kind,
      gb(model.size_bytes),
      model.quantization === null ? '-' : `${model.quantization.bits}-bit`,
      model.loaded_on.join(',') || '-',
    ]),
  ]);
  return 0;
}

async function remove(config: OmniConfig, output: CliOutput, id: string): Promise<number> {
  const viaApi = await callApi<{ freed_bytes: number }>(config, 'DELETE', `/v1/models/${modelPath(id)}`);
  // With the server down no worker holds the model, so deleting the files directly is safe.
  const freed = viaApi?.freed_bytes ?? (await deleteModel(id, { hubCache: config.hfHubCache })).freedBytes;
  output.out(`Deleted ${id} (${gb(freed)} freed)`);
  return 0;
}

function describeProgress(job: ApiJob): string {
  const progress = typeof job.progress === 'object' ? job.progress : {};
  const { bytes_done = 0, bytes_total = 0, files_done = 0, files_total = 0 } = progress;
  const percent = bytes_total > 0 ? ` ${((100 * bytes_done) / bytes_total).toFixed(1)}%` : '';
  return `${job.status}:${percent} ${gb(bytes_done)} of ${gb(bytes_total)}, ${files_done}/${files_total} files`;
}

async function pull(config: OmniConfig, output: CliOutput, id: string, revision: string | undefined): Promise<number> {
  const at = id.indexOf('@');
  const body = at < 0 ? { model: id, revision } : { model: id.slice(0, at), revision: revision ?? id.slice(at + 1) };
  let job = await callApi<ApiJob>(config, 'POST', '/v1/models/pull', body);
  if (job === undefined) {
    output.err(`mlx-omni-server: no server at ${apiBase(config)}; downloads run in its workers, start it with "mlx-omni-server serve"`);
    return 1;
  }
  output.out(`Pulling ${id} (job ${job.id})`);
  let last = '';
  while (job.status !== 'completed' && job.status !== 'failed') {
    await sleep(POLL_MS);
    job = (await callApi<ApiJob>(config, 'GET', `/v1/jobs/${job.id}`))!;
    const line = describeProgress(job);
    if (line !== last) {
      output.out(line);
      last = line;
    }
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
  },

  async run(input, { env, output }) {
    const [action, id, ...extra] = input.positionals;
    const config = loadConfig(env);
    const needsId = action === 'pull' || action === 'rm';
    if (extra.length > 0 || (needsId && id === undefined) || (action === 'list' && id !== undefined)) {
      throw new UsageError(`usage: models ${modelsCommand.synopsis}`);
    }
    try {
      switch (action) {
        case 'list':
          return await list(config, output);
        case 'pull':
          return await pull(config, output, id!, input.values.revision as string | undefined);
        case 'rm':
          return await remove(config, output, id!);
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
