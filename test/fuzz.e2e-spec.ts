import { startStack, type RunningStack } from './support/stack';

/** Not in the cache: a body that passes validation still ends in a 4xx (404) without reaching a worker. */
const MISSING_MODEL = 'fuzz-org/no-such-model';
const MIB = 1024 * 1024;

type Schema = Record<string, any>;

/** Values of the wrong type, or out of any sane range, for a property declared with `type`. */
function hostileValues(type: string): unknown[] {
  const shared = [{ nested: { deeper: [1, { x: '\u0000' }] } }, [[[]]], 'twelve', '\ud800 lone surrogate'];
  switch (type) {
    case 'integer':
      return [...shared, true, 1.5, -1, 2 ** 53 + 2, -1e308, 1e308];
    case 'number':
      return [...shared, true, -1e308, 1e308, -0.000001e-300];
    case 'boolean':
      return [...shared, 'true', 1, 0];
    case 'string':
      return [...shared.filter((value) => typeof value !== 'string'), 7, true, 'x'.repeat(2 * MIB)];
    case 'array':
      return [...shared.filter((value) => !Array.isArray(value)), 7, true, Array.from({ length: 10_000 }, () => ({ role: 'wizard' }))];
    default:
      return [...shared, 7, true];
  }
}

/** A JSON text nested `depth` levels deep, which a recursive parser or validator could choke on. */
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

/** A value of the wrong type for every declared property: a body built on it cannot be valid, however it is mangled. */
function allWrong(properties: Record<string, Schema>, resolve: (schema: Schema) => Schema): Record<string, unknown> {
  const wrong: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties)) {
    const type = resolve(property).type ?? property.type;
    wrong[name] = type === 'string' ? 7 : type === 'integer' || type === 'number' || type === 'boolean' ? 'twelve' : type === 'array' || type === 'object' ? true : { wrong: true };
  }
  return wrong;
}

/** Whole bodies no route should take, as raw bytes with the content type they claim. */
function hostileBodies(wrong: Record<string, unknown>): Array<{ label: string; body: string | Buffer; contentType: string }> {
  const json = 'application/json';
  const wrongJson = JSON.stringify(wrong);
  const withRaw = (raw: string | Buffer): Buffer => Buffer.concat([Buffer.from(`${wrongJson.slice(0, -1)}${wrongJson.length > 2 ? ',' : ''}"zz":`), Buffer.from(raw), Buffer.from('}')]);
  const badUtf8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xc0, 0xaf]);
  return [
    { label: 'truncated JSON', body: '{"model": "x", "messages": [', contentType: json },
    { label: 'invalid UTF-8 in a key', body: Buffer.concat([Buffer.from('{"'), badUtf8, Buffer.from(`":1,${wrongJson.slice(1)}`)]), contentType: json },
    { label: 'invalid UTF-8 in a string', body: withRaw(Buffer.concat([Buffer.from('"'), badUtf8, Buffer.from('"')])), contentType: json },
    { label: 'invalid UTF-8 outside strings', body: Buffer.concat([Buffer.from('{"model":'), badUtf8, Buffer.from('}')]), contentType: json },
    { label: 'deeply nested arrays', body: nested(100_000), contentType: json },
    { label: 'deeply nested field', body: withRaw(nested(5_000)), contentType: json },
    { label: 'a number too big for a double', body: withRaw('1e999999'), contentType: json },
    { label: 'array root', body: '[1,2,3]', contentType: json },
    { label: 'string root', body: '"hello"', contentType: json },
    { label: 'empty body', body: '', contentType: json },
    { label: 'prototype pollution', body: withRaw('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'), contentType: json },
    { label: 'text body', body: 'hello', contentType: 'text/plain' },
    // Bodies over the limit are refused from Content-Length alone (stack.e2e-spec.ts).
    { label: 'large body of one string', body: withRaw(JSON.stringify('x'.repeat(8 * MIB))), contentType: json },
  ];
}

interface FuzzCase {
  method: string;
  path: string;
  body?: string | Buffer;
  contentType?: string;
  label: string;
}

/**
 * Sends every case, a few at a time (enough to overlap requests without measuring the test machine instead), and
 * calls `betweenBatches` before each few; returns what was not refused properly.
 */
async function sendAll(baseUrl: string, cases: FuzzCase[], betweenBatches: () => Promise<void>): Promise<string[]> {
  const failures: string[] = [];
  for (let start = 0; start < cases.length; start += 8) {
    await betweenBatches();
    await Promise.all(
      cases.slice(start, start + 8).map(async (fuzz) => {
        const where = `${fuzz.method} ${fuzz.path.slice(0, 60)} [${fuzz.label}]`;
        const response = await fetch(`${baseUrl}${fuzz.path}`, {
          method: fuzz.method,
          headers: fuzz.contentType ? { 'content-type': fuzz.contentType } : {},
          body: fuzz.body,
        }).catch((error: Error) => {
          failures.push(`${where} → ${error.message} ${String(error.cause)}`);
          return undefined;
        });
        if (response === undefined) {
          return;
        }
        const text = await response.text();
        let envelope: any;
        try {
          envelope = JSON.parse(text);
        } catch {
          envelope = undefined;
        }
        // Everything under /anthropic answers in Anthropic's envelope, the rest in OpenAI's.
        const isEnvelope =
          typeof envelope?.error?.message === 'string' && typeof envelope.error.type === 'string' && (fuzz.path.startsWith('/anthropic/') ? envelope.type === 'error' : 'param' in envelope.error);
        if (response.status < 400 || response.status >= 500 || !isEnvelope) {
          failures.push(`${where} → ${response.status} ${text.slice(0, 160)}`);
        }
      }),
    );
  }
  return failures;
}

describe('hostile and malformed bodies to every route (real stack)', () => {
  let stack: RunningStack;

  beforeAll(async () => {
    stack = await startStack({ workers: 1, env: { MLX_OMNI_LOG_LEVEL: 'warn' } });
    await stack.waitUntilReady();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const rssBytes = async (): Promise<number> => {
    const { text } = await stack.request('/metrics');
    return Number(/^mlx_omni_process_resident_memory_bytes (\S+)$/m.exec(text)?.[1]);
  };

  it('answers every one with a 4xx in its surface’s error envelope, stays up, and gives the memory back', async () => {
    const document = (await stack.request('/docs/json')).body;
    const schemas: Record<string, Schema> = document.components.schemas;
    const resolve = (schema?: Schema): Schema => (schema?.$ref ? schemas[schema.$ref.split('/').pop()!] : (schema ?? {}));

    const cases: FuzzCase[] = [];
    for (const [path, operations] of Object.entries<Record<string, Schema>>(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        // Path parameters get hostile values too; the routes without any stay as they are.
        const concrete = path.replace(/\{[^}]+\}/g, encodeURIComponent('../../etc/passwd\u0000%ff'));
        if (concrete !== path) {
          cases.push({ method: method.toUpperCase(), path: concrete, label: 'hostile path parameter' });
          cases.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'x'.repeat(4096)), label: 'oversized path parameter' });
        }
        const bodySchema = resolve(operation.requestBody?.content?.['application/json']?.schema);
        if (operation.requestBody === undefined) {
          continue;
        }
        const seed: Record<string, unknown> = {};
        for (const name of bodySchema.required ?? []) {
          seed[name] =
            name === 'model'
              ? MISSING_MODEL
              : name === 'messages'
                ? [{ role: 'user', content: 'hi' }]
                : name === 'prompt' || name === 'input'
                  ? 'hi'
                  : name === 'max_tokens'
                    ? 1
                    : undefined;
        }
        for (const [name, property] of Object.entries<Schema>(bodySchema.properties ?? {})) {
          const declared = resolve(property);
          for (const value of hostileValues(declared.type ?? property.type ?? 'any')) {
            cases.push({ method: 'POST', path, body: JSON.stringify({ ...seed, [name]: value }), contentType: 'application/json', label: `${name} = ${JSON.stringify(value)?.slice(0, 40)}` });
          }
        }
        if ('messages' in (bodySchema.properties ?? {})) {
          for (const messages of [[{ role: 'wizard', content: 'hi' }], [{ role: 'user' }], [{ role: 'tool', content: 'x' }], [{ role: 'user', content: [{ type: 'hologram' }] }], []]) {
            cases.push({ method: 'POST', path, body: JSON.stringify({ ...seed, messages }), contentType: 'application/json', label: `messages = ${JSON.stringify(messages)}` });
          }
        }
        for (const hostile of hostileBodies(allWrong(bodySchema.properties ?? {}, resolve))) {
          cases.push({ method: 'POST', path, ...hostile });
        }
      }
    }
    expect(cases.length).toBeGreaterThan(200);

    // RSS at any one moment is mostly garbage awaiting the collector (it swung between 210 and 355 MiB within one
    // round, with no trend over ten), so each round is summed up by its floor: the lowest RSS sampled between its
    // batches, which the collections within a round bring back to the live size. A leak of what the bodies hold
    // (megabyte strings, ten-thousand-element arrays) would raise the floor by well over the margin each round.
    // The first round grows the heap and malloc's arenas to their working size; the third, unmeasured, lies
    // between the two measured so that what leaks in a whole round shows.
    const roundFloor = async (): Promise<number> => {
      let floor = Infinity;
      const failures = await sendAll(stack.baseUrl, cases, async () => {
        floor = Math.min(floor, await rssBytes());
      });
      expect(failures).toEqual([]);
      return floor;
    };
    await roundFloor();
    const baseline = await roundFloor();
    await roundFloor();
    const after = await roundFloor();
    expect((await stack.request('/health')).status).toBe(200);
    expect(stack.supervisor.output()).not.toMatch(/"msg":"(restarting|exited)/i);
    expect(after).toBeLessThan(baseline + 64 * MIB);
  }, 300_000);
});
