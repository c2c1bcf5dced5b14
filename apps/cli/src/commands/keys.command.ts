import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { addKey, KEY_LIMIT_FIELDS, KEY_ROLES, KeyFileError, readKeyFile, revokeKey, writeKeyFile, type KeyLimits, type KeyRole } from '@mlx-omni/api-keys';
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

/** --rpm, --tpm and --concurrency as the key's own limits; a flag left out leaves the server's setting. */
function limits(input: CommandInput): KeyLimits {
  const given: KeyLimits = {};
  for (const field of KEY_LIMIT_FIELDS) {
    const value = input.values[field];
    if (value === undefined) {
      continue;
    }
    if (typeof value !== 'string' || !/^\d+$/.test(value)) {
      throw new UsageError(`--${field} must be a whole number (0 for no limit), got "${String(value)}"`);
    }
    given[field] = Number(value);
  }
  return given;
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
  // A limit the key does not set is the server's (MLX_OMNI_RATE_LIMIT_*): shown as "-".
  const limit = (value: number | undefined): string => (value === undefined ? '-' : value === 0 ? 'none' : String(value));
  const rows = [
    ['NAME', 'ROLE', 'RPM', 'TPM', 'CONCURRENCY', 'CREATED'],
    ...keys.map((key) => [key.name, key.role, limit(key.limits?.rpm), limit(key.limits?.tpm), limit(key.limits?.concurrency), key.created_at]),
  ];
  const widths = rows[0].map((_cell, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) {
    output.out(row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
  }
}

/** `mlx-omni-server keys add|list|revoke`: manages the keys file the API re-reads within a second of a change. */
export const keysCommand: CliCommand = {
  name: 'keys',
  summary: 'add, list or revoke the API keys in MLX_OMNI_KEYS_FILE',
  synopsis: 'add <name> [--role user|admin] [--rpm <n>] [--tpm <n>] [--concurrency <n>] | list | revoke <name>',
  options: {
    role: { type: 'string', valueName: 'role', description: `role of a new key: ${KEY_ROLES.join(' or ')} (default user)` },
    rpm: { type: 'string', valueName: 'n', description: "the key's own requests per minute, 0 for none (default: MLX_OMNI_RATE_LIMIT_RPM)" },
    tpm: { type: 'string', valueName: 'n', description: "the key's own generated tokens per minute, 0 for none (default: MLX_OMNI_RATE_LIMIT_TPM)" },
    concurrency: { type: 'string', valueName: 'n', description: "the key's own requests in flight, 0 for none (default: MLX_OMNI_RATE_LIMIT_CONCURRENT)" },
    file: { type: 'string', valueName: 'path', description: 'keys file (default $MLX_OMNI_KEYS_FILE)' },
  },
  environment: ['MLX_OMNI_KEYS_FILE', 'MLX_OMNI_RATE_LIMIT_RPM', 'MLX_OMNI_RATE_LIMIT_TPM', 'MLX_OMNI_RATE_LIMIT_CONCURRENT'],

  async run(input, { env, output }) {
    const [action, ...names] = input.positionals;
    if (!(ACTIONS as readonly (string | undefined)[]).includes(action)) {
      throw new UsageError(`keys needs one of ${ACTIONS.join(', ')}, got "${action ?? ''}"`);
    }
    const path = keysFile(input, env);
    try {
      switch (action as (typeof ACTIONS)[number]) {
        case 'add': {
          const { file, key } = addKey(readKeyFile(path), oneName(action, names), role(input), new Date(), limits(input));
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
