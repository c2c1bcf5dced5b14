import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore, artifactsDir } from '@mlx-omni/jobs';
import { keysCli } from './support/keys';
import { startStack, type RunningStack } from './support/stack';

/**
 * The files long jobs write (images, speech) as clients fetch them: written to the state directory as
 * a worker's job handler writes them, served by the API process behind the same keys.
 */
describe('job files served at /v1/files/{id}/content (real stack, keys file)', () => {
  let stack: RunningStack;
  let store: ArtifactStore;
  const keys: Record<string, string> = {};
  const as = (name: string): RequestInit => ({ headers: { authorization: `Bearer ${keys[name]}` } });

  beforeAll(async () => {
    const keysFile = join(mkdtempSync(join(tmpdir(), 'omni-keys-')), 'keys.json');
    keys.alice = keysCli(keysFile, 'add', 'alice');
    keys.bob = keysCli(keysFile, 'add', 'bob');
    keys.ops = keysCli(keysFile, 'add', 'ops', '--role', 'admin');
    stack = await startStack({ env: { MLX_OMNI_KEYS_FILE: keysFile } });
    await stack.waitUntilReady();
    store = new ArtifactStore(artifactsDir(stack.stateDir));
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("serves a job's file to its key and to admins, with its type and size, and describes it as OpenAI's file object", async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const ref = await store.create({ filename: 'image-0.png', contentType: 'image/png', owner: 'alice', ttlSeconds: 600 }, bytes);
    for (const reader of ['alice', 'ops']) {
      const response = await fetch(`${stack.baseUrl}/v1/files/${ref.id}/content`, as(reader));
      expect([reader, response.status, response.headers.get('content-type')]).toEqual([reader, 200, 'image/png']);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(bytes);
    }
    const described = await stack.request(`/v1/files/${ref.id}`, as('alice'));
    expect(described.body).toEqual({
      id: ref.id,
      object: 'file',
      bytes: bytes.length,
      created_at: ref.created_at,
      expires_at: ref.expires_at,
      filename: 'image-0.png',
      purpose: 'output',
      status: 'processed',
      content_type: 'image/png',
    });
  });

  it("refuses another key's file with 403, and unknown or expired files with 404, in OpenAI's envelope", async () => {
    const ref = await store.create({ filename: 'speech.mp3', contentType: 'audio/mpeg', owner: 'alice', ttlSeconds: 60 }, Buffer.from('ID3'));
    const other = await stack.request(`/v1/files/${ref.id}/content`, as('bob'));
    expect(other.status).toBe(403);
    expect(other.body.error).toMatchObject({ type: 'permission_error', code: 'insufficient_permissions', param: 'file_id' });
    const unknown = await stack.request('/v1/files/file-000000000000000000000000/content', as('alice'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ type: 'invalid_request_error', code: 'file_not_found', param: 'file_id' });
    const expired = await store.create({ filename: 'old.png', contentType: 'image/png', owner: 'alice', ttlSeconds: 0 }, Buffer.from('x'));
    expect((await stack.request(`/v1/files/${expired.id}/content`, as('alice'))).status).toBe(404);
    expect((await stack.request(`/v1/files/${ref.id}`)).status).toBe(401);
  });
});
