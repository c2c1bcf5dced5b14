import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli';

async function cli(argv: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['models', ...argv], { env, output: { out: (line) => out.push(line), err: (line) => err.push(line) } });
  return { code, out, err };
}

/** A chat model in the hub cache layout, the way huggingface_hub leaves one. */
async function writeCachedModel(hub: string, repoId: string): Promise<void> {
  const repoDir = join(hub, `models--${repoId.replace('/', '--')}`);
  const snapshot = join(repoDir, 'snapshots', 'c'.repeat(40));
  await mkdir(join(repoDir, 'blobs'), { recursive: true });
  await mkdir(snapshot, { recursive: true });
  await mkdir(join(repoDir, 'refs'));
  await writeFile(join(repoDir, 'refs', 'main'), 'c'.repeat(40));
  const files = {
    'config.json': JSON.stringify({ model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], quantization: { bits: 4, group_size: 64 } }),
    'tokenizer.json': '{}',
    'model.safetensors': Buffer.alloc(2_000_000),
  };
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(repoDir, 'blobs', name), content);
    await symlink(`../../blobs/${name}`, join(snapshot, name));
  }
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return String((server.address() as AddressInfo).port);
}

describe('mlx-omni-server models', () => {
  let hub: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    hub = await mkdtemp(join(tmpdir(), 'cli-models-'));
    await writeCachedModel(hub, 'org/cached');
    // A port nothing listens on: the server is down.
    const closed = createServer();
    const port = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    env = { HF_HUB_CACHE: hub, PORT: port };
  });
  afterEach(() => rm(hub, { recursive: true, force: true }));

  it('lists and deletes from the cache directly when the server is down', async () => {
    const listed = await cli(['list'], env);
    expect(listed).toMatchObject({ code: 0, err: [expect.stringContaining('not running')] });
    expect(listed.out).toEqual([expect.stringMatching(/^ID\s+KIND\s+SIZE\s+QUANT\s+LOADED ON$/), expect.stringMatching(/^org\/cached\s+chat\s+2\.00 MB\s+4-bit\s+-$/)]);

    expect(await cli(['rm', 'org/cached'], env)).toMatchObject({ code: 0, out: ['Deleted org/cached (2.00 MB freed)'] });
    expect(await readdir(hub)).toEqual([]);
    expect(await cli(['rm', 'org/cached'], env)).toMatchObject({ code: 1, err: [expect.stringContaining('Model "org/cached" is not present')] });
  });

  it('pulls only through the server, and says so when it is down', async () => {
    const pulled = await cli(['pull', 'org/new'], env);
    expect(pulled.code).toBe(1);
    expect(pulled.err[0]).toContain('start it with "mlx-omni-server serve"');
  });

  it('asks the running server, which knows where models are loaded, and reports its errors', async () => {
    const requests: string[] = [];
    const api = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      response.writeHead(request.method === 'GET' ? 200 : 409, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify(
          request.method === 'GET'
            ? { object: 'list', data: [{ id: 'org/remote', kind: 'chat', size_bytes: 4e9, quantization: null, loaded_on: ['worker-1'] }] }
            : { error: { message: 'Model "org/remote" is loaded on a worker; unload it first' } },
        ),
      );
    });
    const port = await listen(api);
    try {
      const listed = await cli(['list'], { ...env, PORT: port });
      expect(listed.out[1]).toMatch(/^org\/remote\s+chat\s+4\.00 GB\s+-\s+worker-1$/);
      expect(await cli(['rm', 'org/remote'], { ...env, PORT: port })).toMatchObject({ code: 1, err: ['mlx-omni-server: Model "org/remote" is loaded on a worker; unload it first'] });
      expect(requests).toEqual(['GET /v1/models', 'DELETE /v1/models/org/remote']);
    } finally {
      await new Promise((resolve) => api.close(resolve));
    }
  });

  it('is a usage error without an action or id', async () => {
    expect((await cli([], env)).code).toBe(2);
    expect((await cli(['pull'], env)).code).toBe(2);
  });
});
