import { cacheBytes, type ForkableKVCache } from '../../nn/kv-cache';

interface Entry {
  scope: string;
  tokens: readonly number[];
  caches: ForkableKVCache[];
  bytes: number;
}

/** What a lookup found: caches holding the first `length` tokens of the prompt, for the caller to extend. */
export interface PromptCacheHit {
  caches: ForkableKVCache[];
  length: number;
}

/**
 * Keys and values of finished sequences, kept so that a prompt starting with one of them (the
 * same system prompt, a conversation one message longer) computes only what is new. Entries are
 * matched token by token on the longest common prefix, bounded in bytes and evicted least
 * recently used, as mlx-lm's LRUPromptCache. Entries live in a scope (an API key by default):
 * a faster first token would otherwise tell one caller what another one sent.
 */
export class PromptCache {
  /** Least recently used first. */
  private readonly entries: Entry[] = [];
  private totalBytes = 0;
  queries = 0;
  /** Prompt tokens asked for and prompt tokens served from the cache, since start. */
  queriedTokens = 0;
  hitTokens = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * The longest cached prefix of `prompt` in `scope`, as independent copies of the entry's caches.
   * At most `prompt.length - 1` tokens are reused: the last one must be fed to produce the next token.
   */
  lookup(scope: string, prompt: readonly number[]): PromptCacheHit | undefined {
    this.queries += 1;
    this.queriedTokens += prompt.length;
    let best: { entry: Entry; length: number } | undefined;
    for (const entry of this.entries) {
      if (entry.scope !== scope) {
        continue;
      }
      const length = Math.min(commonPrefixLength(entry.tokens, prompt), prompt.length - 1);
      if (length > 0 && (best === undefined || length > best.length)) {
        best = { entry, length };
      }
    }
    if (best === undefined) {
      return undefined;
    }
    const forks = best.entry.caches.map((cache) => cache.fork(best.length));
    if (forks.some((fork) => fork === undefined)) {
      // A sliding-window layer has moved past that position: the entry can only be continued from its end.
      return undefined;
    }
    this.touch(best.entry);
    this.hitTokens += best.length;
    return { caches: forks as ForkableKVCache[], length: best.length };
  }

  /**
   * Keeps the caches of a sequence whose fed tokens are `tokens`. An entry it extends is replaced;
   * an entry that already extends it makes it redundant. Least recently used entries go until the
   * total fits; an entry larger than the whole budget is not kept.
   */
  store(scope: string, tokens: readonly number[], caches: ForkableKVCache[]): void {
    const bytes = cacheBytes(caches);
    if (tokens.length === 0 || bytes > this.maxBytes) {
      return;
    }
    for (const entry of [...this.entries]) {
      if (entry.scope !== scope) {
        continue;
      }
      const shared = commonPrefixLength(entry.tokens, tokens);
      if (shared === tokens.length) {
        this.touch(entry);
        return;
      }
      if (shared === entry.tokens.length) {
        this.remove(entry);
      }
    }
    this.entries.push({ scope, tokens: [...tokens], caches, bytes });
    this.totalBytes += bytes;
    while (this.totalBytes > this.maxBytes) {
      this.remove(this.entries[0]);
    }
  }

  clear(): void {
    this.entries.length = 0;
    this.totalBytes = 0;
  }

  private touch(entry: Entry): void {
    this.entries.splice(this.entries.indexOf(entry), 1);
    this.entries.push(entry);
  }

  private remove(entry: Entry): void {
    this.entries.splice(this.entries.indexOf(entry), 1);
    this.totalBytes -= entry.bytes;
  }
}

function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const limit = Math.min(a.length, b.length);
  let i = 0;
  while (i < limit && a[i] === b[i]) {
    i++;
  }
  return i;
}
