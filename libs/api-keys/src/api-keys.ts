import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_ROLES = ['user', 'admin'] as const;
export type KeyRole = (typeof KEY_ROLES)[number];

/**
 * A key's own rate limits, overriding the server's MLX_OMNI_RATE_LIMIT_* for it: requests per
 * minute, generated tokens per minute, requests in flight. 0 means no limit for this key; a field
 * left out takes the server's setting.
 */
export interface KeyLimits {
  rpm?: number;
  tpm?: number;
  concurrency?: number;
}

export const KEY_LIMIT_FIELDS = ['rpm', 'tpm', 'concurrency'] as const satisfies ReadonlyArray<keyof KeyLimits>;

/** Who made a request: the key's name (never the key itself), what it may do, and its own limits if it has any. */
export interface Caller {
  name: string;
  role: KeyRole;
  limits?: KeyLimits;
}

/** A key as the server keeps it: only its hash is stored. */
export interface StoredKey extends Caller {
  /** Hex SHA-256 of the key. */
  hash: string;
  /** ISO 8601. */
  created_at: string;
}

/** Shown in front of generated keys so leaked ones are recognisable in logs and secret scanners. */
const KEY_PREFIX = 'omni-';
const KEY_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** A new key: 32 random bytes (256 bits), URL-safe. */
export function generateApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * SHA-256, not scrypt: a generated key carries 256 random bits, so a leaked hash cannot be
 * brute-forced however fast the hash is; slow hashes only protect low-entropy passwords, and
 * here they would spend tens of milliseconds of the API's event loop on every request.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function isValidKeyName(name: string): boolean {
  return KEY_NAME.test(name);
}

/**
 * The stored key whose hash matches the presented key, compared in constant time against every
 * stored hash (no early exit): the time taken says nothing about which key, or which prefix, is valid.
 */
export function findKey<K extends { hash: string }>(keys: readonly K[], presented: string): K | undefined {
  const digest = Buffer.from(hashApiKey(presented), 'hex');
  let found: K | undefined;
  for (const key of keys) {
    const stored = Buffer.from(key.hash, 'hex');
    // Hashes read from the file were checked to be 32 bytes, so the lengths always match.
    if (timingSafeEqual(stored, digest) && found === undefined) {
      found = key;
    }
  }
  return found;
}
