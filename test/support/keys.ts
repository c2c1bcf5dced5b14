import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const CLI = resolve(__dirname, '..', '..', 'dist', 'apps', 'cli', 'src', 'main.js');

/** Runs the built `mlx-omni-server keys ...` on a keys file; returns what it printed (for `add`, the new key). */
export function keysCli(keysFile: string, ...args: string[]): string {
  return execFileSync(process.execPath, [CLI, 'keys', ...args], {
    env: { ...process.env, MLX_OMNI_KEYS_FILE: keysFile },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}
