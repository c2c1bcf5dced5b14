/**
 * Whether a parsed JSON value nests arrays and objects deeper than `maxDepth` (a scalar is depth 0,
 * `{}` and `[]` depth 1). Iterative, so a hostile body cannot overflow the stack of the check itself
 * before it can overflow class-transformer's recursion.
 */
export function jsonDepthExceeds(value: unknown, maxDepth: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (typeof node !== 'object' || node === null) {
      continue;
    }
    if (depth + 1 > maxDepth) {
      return true;
    }
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      pending.push([child, depth + 1]);
    }
  }
  return false;
}
