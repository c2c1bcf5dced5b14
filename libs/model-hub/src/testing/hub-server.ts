import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FileTree } from './hub-tree';

export interface HubRepo {
  repoId: string;
  /** The commit `main` names. */
  commit: string;
  files: FileTree;
}

export interface HubRequestLog {
  method: string;
  path: string;
  range: string | undefined;
  authorization: string | undefined;
}

/** Files the Hub stores in LFS, as its default .gitattributes says; the rest are plain git blobs. */
const isLfs = (path: string): boolean => /\.(safetensors|bin|npz|gguf)$/.test(path);

function etagOf(path: string, content: Buffer): string {
  if (isLfs(path)) {
    return createHash('sha256').update(content).digest('hex');
  }
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/**
 * A stand-in for the Hugging Face Hub on a local port, serving the endpoints huggingface_hub
 * downloads through: `/api/models/{id}/revision/{rev}`, `/api/models/{id}/tree/{rev}` and
 * `/{id}/resolve/{rev}/{path}` (with Range). Tests make it cut a transfer mid-file, demand a
 * token, and read what was asked of it.
 */
export class HubServer {
  readonly requests: HubRequestLog[] = [];
  /** When set, requests without `Authorization: Bearer <token>` get 401, as gated repos do. */
  requiredToken: string | undefined;
  /** File path → bytes: the next transfer of that file stops after this many bytes and the connection drops. */
  readonly cutAfter = new Map<string, number>();
  /** Milliseconds to wait between chunks of a file, so a test can watch progress move. */
  chunkDelayMs = 0;
  /** Repos whose every request is answered with this status (a Hub outage for them), by repo id. */
  readonly failing = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly repos: Map<string, HubRepo>,
  ) {}

  static async start(repos: HubRepo[]): Promise<HubServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const hub = new HubServer(server, `http://127.0.0.1:${port}`, new Map(repos.map((repo) => [repo.repoId, repo])));
    server.on('request', (request: IncomingMessage, response: ServerResponse) => void hub.handle(request, response));
    return hub;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(request.url!, this.url).pathname);
    this.requests.push({ method: request.method!, path, range: request.headers.range, authorization: request.headers.authorization });
    if (this.requiredToken !== undefined && request.headers.authorization !== `Bearer ${this.requiredToken}`) {
      return this.json(response, 401, { error: 'Invalid credentials in Authorization header' });
    }
    const match =
      /^\/api\/models\/(?<repo>[^/]+\/[^/]+)\/(?<what>revision|tree)\/(?<rev>.+)$/.exec(path) ??
      /^\/(?<repo>[^/]+\/[^/]+)\/(?<what>resolve)\/(?<rev>[^/]+)\/(?<file>.+)$/.exec(path);
    const failure = this.failing.get(match?.groups?.repo ?? '');
    if (failure !== undefined) {
      return this.json(response, failure, { error: 'Service unavailable' });
    }
    const repo = this.repos.get(match?.groups?.repo ?? '');
    const rev = match?.groups?.rev;
    if (repo === undefined || (rev !== 'main' && rev !== repo.commit)) {
      return this.json(response, 404, { error: 'Repository not found' });
    }
    const files = Object.entries(repo.files).map(([name, content]) => ({ name, content: Buffer.from(content) }));
    switch (match!.groups!.what) {
      case 'revision':
        return this.json(response, 200, { id: repo.repoId, sha: repo.commit, siblings: files.map(({ name }) => ({ rfilename: name })) });
      case 'tree':
        return this.json(
          response,
          200,
          files.map(({ name, content }) => ({
            type: 'file',
            path: name,
            size: content.length,
            oid: isLfs(name) ? createHash('sha1').update(name).digest('hex') : etagOf(name, content),
            ...(isLfs(name) ? { lfs: { oid: etagOf(name, content), size: content.length, pointerSize: 134 } } : {}),
          })),
        );
      default: {
        const file = files.find(({ name }) => name === match!.groups!.file);
        if (file === undefined) {
          return this.json(response, 404, { error: 'Entry not found' });
        }
        return this.sendFile(request, response, file.name, file.content);
      }
    }
  }

  private async sendFile(request: IncomingMessage, response: ServerResponse, name: string, content: Buffer): Promise<void> {
    const start = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? '')?.[1] ?? 0);
    const body = content.subarray(start);
    response.writeHead(start > 0 ? 206 : 200, {
      'content-length': body.length,
      etag: `"${etagOf(name, content)}"`,
      ...(start > 0 ? { 'content-range': `bytes ${start}-${content.length - 1}/${content.length}` } : {}),
    });
    // Without this, Nagle's algorithm and delayed ACKs hold each flushed chunk back ~40 ms.
    response.socket?.setNoDelay(true);
    const cut = this.cutAfter.get(name);
    this.cutAfter.delete(name);
    const chunk = 4096;
    for (let offset = 0; offset < body.length; offset += chunk) {
      if (cut !== undefined && offset >= cut) {
        response.socket?.destroy();
        return;
      }
      // Waiting for each write to flush makes a cut land after exactly the bytes sent so far.
      await new Promise<void>((resolve) => response.write(body.subarray(offset, Math.min(offset + chunk, cut ?? Infinity, body.length)), () => resolve()));
      if (this.chunkDelayMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, this.chunkDelayMs));
      }
    }
    response.end();
  }

  private json(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  }
}
