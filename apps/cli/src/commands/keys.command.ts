import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { addKey, KEY_ROLES, KeyFileError, readKeyFile, revokeKey, writeKeyFile, type KeyRole } from '@mlx-omni/api-keys';
import { loadConfig } from '@mlx-omni/config';
import type { CliCommand, CliOutput, CommandInput } from '../command';
import { UsageError } from '../command';

const ACTIONS = ['add', 'list', 'revoke'] as const;

function keysFile(input: CommandInput, env: Parameters<typeof loadConfig>[0]): string {
  const flag = input.values.file;
  const path = typeof flag === 'string' ? resolve(flag) : loadConfig(env).keysFile;
  if (path === undefined) {
    throw new UsageError('no keys file: set MLX_OMNI_KEYS_FILE (the server reads the same) or pass --file');
  }
  return path;
}

function role(input: CommandInput): KeyRole {
  const value = input.values.role ?? 'user';
  if (!(KEY_ROLES as readonly unknown[]).includes(value)) {
    throw new UsageError(`--role must be one of ${KEY_ROLES.join(', ')}, got "${String(value)}"`);
  }
  return value as KeyRole;
}

function oneName(action: string, names: string[]): string {
  if (names.length !== 1) {
    throw new UsageError(`keys ${action} takes one key name, got ${names.length}`);
  }
  return names[0];
}

function list(path: string, output: CliOutput): void {
  const { keys } = readKeyFile(path);
  if (keys.length === 0) {
    output.err(`No keys in ${path}`);
    return;
  }
  const width = Math.max(4, ...keys.map((key) => key.name.length));
  output.out(`${'NAME'.padEnd(width)}  ROLE   CREATED`);
  for (const key of keys) {
    output.out(`${key.name.padEnd(width)}  ${key.role.padEnd(5)}  ${key.created_at}`);
  }
}

/** `mlx-omni-server keys add|list|revoke`: manages the keys file the API re-reads within a second of a change. */
export const keysCommand: CliCommand = {
  name: 'keys',
  summary: 'add, list or revoke the API keys in MLX_OMNI_KEYS_FILE',
  synopsis: 'add <name> [--role user|admin] | list | revoke <name>',
  options: {
    role: { type: 'string', valueName: 'role', description: `role of a new key: ${KEY_ROLES.join(' or ')} (default user)` },
    file: { type: 'string', valueName: 'path', description: 'keys file (default $MLX_OMNI_KEYS_FILE)' },
  },

  async run(input, { env, output }) {
    const [action, ...names] = input.positionals;
    if (!(ACTIONS as readonly (string | undefined)[]).includes(action)) {
      throw new UsageError(`keys needs one of ${ACTIONS.join(', ')}, got "${action ?? ''}"`);
    }
    const path = keysFile(input, env);
    try {
      switch (action as (typeof ACTIONS)[number]) {
        case 'add': {
          const { file, key } = addKey(readKeyFile(path), oneName(action, names), role(input));
          mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
          writeKeyFile(path, file);
          // The key alone on stdout, so scripts can capture it; only its hash is kept.
          output.out(key);
          output.err(`Added key "${names[0]}" to ${path}. It is shown only this once.`);
          return 0;
        }
        case 'list':
          list(path, output);
          return 0;
        case 'revoke':
          writeKeyFile(path, revokeKey(readKeyFile(path), oneName(action, names)));
          output.err(`Revoked key "${names[0]}"; the server stops accepting it within a second.`);
          return 0;
      }
    } catch (error) {
      if (error instanceof KeyFileError) {
        output.err(`mlx-omni-server: ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};
