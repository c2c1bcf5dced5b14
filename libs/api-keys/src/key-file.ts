import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { generateApiKey, hashApiKey, isValidKeyName, KEY_LIMIT_FIELDS, KEY_ROLES, type KeyLimits, type KeyRole, type StoredKey } from './api-keys';

/** The keys file (MLX_OMNI_KEYS_FILE): JSON, written by `mlx-omni-server keys`, read by the API. */
export interface KeyFile {
  version: 1;
  keys: StoredKey[];
}

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function checkKey(entry: unknown, index: number, path: string): StoredKey {
  const key = entry as Partial<StoredKey> | null;
  const where = `${path}: keys[${index}]`;
  if (typeof key !== 'object' || key === null) {
    throw new KeyFileError(`${where} must be an object`);
  }
  if (typeof key.name !== 'string' || !isValidKeyName(key.name)) {
    throw new KeyFileError(`${where}.name must be 1-64 letters, digits, ".", "-" or "_"`);
  }
  if (!(KEY_ROLES as readonly unknown[]).includes(key.role)) {
    throw new KeyFileError(`${where}.role must be one of ${KEY_ROLES.join(', ')}`);
  }
  if (typeof key.hash !== 'string' || !SHA256_HEX.test(key.hash)) {
    throw new KeyFileError(`${where}.hash must be a hex SHA-256`);
  }
  const limits = key.limits === undefined ? undefined : checkLimits(key.limits, `${where}.limits`);
  return { name: key.name, role: key.role as KeyRole, hash: key.hash, created_at: String(key.created_at ?? ''), ...(limits === undefined ? {} : { limits }) };
}

/** A key's limits: each of rpm, tpm and concurrency a whole number from 0 (no limit) up, or left out. */
export function checkLimits(value: unknown, where: string): KeyLimits {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeyFileError(`${where} must be an object such as {"rpm": 60}`);
  }
  const limits: KeyLimits = {};
  for (const [field, limit] of Object.entries(value)) {
    if (!(KEY_LIMIT_FIELDS as readonly string[]).includes(field)) {
      throw new KeyFileError(`${where}.${field} is not a limit; the limits are ${KEY_LIMIT_FIELDS.join(', ')}`);
    }
    if (!Number.isSafeInteger(limit) || (limit as number) < 0) {
      throw new KeyFileError(`${where}.${field} must be a whole number, 0 for no limit, got ${JSON.stringify(limit)}`);
    }
    limits[field as keyof KeyLimits] = limit as number;
  }
  return limits;
}

/** Parses and checks a keys file's text; `path` only names the file in errors. */
export function parseKeyFile(text: string, path: string): KeyFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new KeyFileError(`${path} is not valid JSON (${(error as Error).message})`);
  }
  const file = parsed as Partial<KeyFile> | null;
  if (typeof file !== 'object' || file === null || file.version !== 1 || !Array.isArray(file.keys)) {
    throw new KeyFileError(`${path} must be {"version": 1, "keys": [...]}`);
  }
  return { version: 1, keys: file.keys.map((entry, index) => checkKey(entry, index, path)) };
}

/** Reads the keys file; a file that does not exist yet holds no keys. */
export function readKeyFile(path: string): KeyFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { version: 1, keys: [] };
    }
    throw error;
  }
  return parseKeyFile(text, path);
}

/**
 * Writes the keys file atomically with mode 0600: a temporary file in the same directory, flushed,
 * then renamed over the old one, so a reader (the API) sees either the old keys or the new, never half.
 */
export function writeKeyFile(path: string, file: KeyFile): void {
  const temporary = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(file, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** The file with a new key added, and the key itself (shown once; only its hash is kept). */
export function addKey(file: KeyFile, name: string, role: KeyRole, now = new Date(), limits: KeyLimits = {}): { file: KeyFile; key: string } {
  if (!isValidKeyName(name)) {
    throw new KeyFileError(`key name "${name}" must be 1-64 letters, digits, ".", "-" or "_"`);
  }
  if (file.keys.some((key) => key.name === name)) {
    throw new KeyFileError(`a key named "${name}" already exists; revoke it first`);
  }
  const key = generateApiKey();
  const checked = checkLimits(limits, `limits of key "${name}"`);
  const stored: StoredKey = { name, role, hash: hashApiKey(key), created_at: now.toISOString(), ...(Object.keys(checked).length === 0 ? {} : { limits: checked }) };
  return { file: { version: 1, keys: [...file.keys, stored] }, key };
}

export function revokeKey(file: KeyFile, name: string): KeyFile {
  if (!file.keys.some((key) => key.name === name)) {
    throw new KeyFileError(`no key named "${name}"`);
  }
  return { version: 1, keys: file.keys.filter((key) => key.name !== name) };
}
