/** Values no field of any request should take down the server with: wrong types, extremes, unknown shapes. */
const HOSTILE_VALUES: unknown[] = [null, 7, -1, 1e308, 'x', '', '\u0000\ud800', true, [], {}, [[[]]], { type: 'hologram' }, [{ type: 'hologram' }]];

/**
 * Every way to break one node of a valid body: each node (object member or array element, at any
 * depth) replaced by each hostile value, and each object member removed. What reaches the server is
 * then valid except in one place, so the checks deep inside a surface (after validation) are reached.
 */
export function hostileVariants(body: Record<string, unknown>): Array<{ label: string; body: unknown }> {
  const variants: Array<{ label: string; body: unknown }> = [];
  const visit = (node: unknown, path: Array<string | number>): void => {
    if (path.length > 0) {
      for (const value of HOSTILE_VALUES) {
        variants.push({ label: `${path.join('.')} = ${JSON.stringify(value)}`, body: replaceAt(body, path, () => value) });
      }
      if (typeof path[path.length - 1] === 'string') {
        variants.push({ label: `${path.join('.')} removed`, body: replaceAt(body, path, () => undefined) });
      }
    }
    if (Array.isArray(node)) {
      node.forEach((child, index) => visit(child, [...path, index]));
    } else if (typeof node === 'object' && node !== null) {
      for (const [key, child] of Object.entries(node)) {
        visit(child, [...path, key]);
      }
    }
  };
  visit(body, []);
  return variants;
}

/** A deep copy of `root` with the node at `path` replaced (undefined removes an object member). */
function replaceAt(root: unknown, path: Array<string | number>, value: () => unknown): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) {
    parent = parent[key] as Record<string | number, unknown>;
  }
  const last = path[path.length - 1];
  const replacement = value();
  if (replacement === undefined && !Array.isArray(parent)) {
    delete parent[last];
  } else {
    parent[last] = replacement;
  }
  return copy;
}

/**
 * Sends every variant, `concurrency` at a time, and returns what was not answered properly: a 5xx,
 * a dropped connection, or a 4xx whose body is not `isEnvelope`. Keep `concurrency` within what the
 * stack's workers take (MLX_OMNI_WORKER_MAX_PENDING), or refusals for being full count as failures.
 */
export async function sendHostile(
  url: string,
  headers: Record<string, string>,
  variants: Array<{ label: string; body: unknown }>,
  isEnvelope: (body: any) => boolean,
  concurrency: number,
): Promise<string[]> {
  const failures: string[] = [];
  for (let start = 0; start < variants.length; start += concurrency) {
    await Promise.all(
      variants.slice(start, start + concurrency).map(async ({ label, body }) => {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).catch(
          (error: Error) => error,
        );
        if (response instanceof Error) {
          failures.push(`${label} → ${response.message}`);
          return;
        }
        const text = await response.text();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (response.status >= 500 || (response.status >= 400 && !isEnvelope(parsed))) {
          failures.push(`${label} → ${response.status} ${text.slice(0, 200)}`);
        }
      }),
    );
  }
  return failures;
}
