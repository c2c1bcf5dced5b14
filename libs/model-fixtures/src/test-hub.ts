import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The hub cache that test suites share. Snapshots are content-addressed by spec, so suites and
 * runs reuse each other's fixtures instead of regenerating them.
 */
export function testHubDir(): string {
  return join(tmpdir(), 'mlx-omni-test-hub');
}
