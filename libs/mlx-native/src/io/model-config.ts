import { InvalidModelConfigError } from './errors';

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Typed access to a config.json object. Every read names the field in its error, so a
 * malformed config says which setting to fix.
 */
export class ModelConfig {
  constructor(
    readonly raw: JsonObject,
    /** Where the object came from, for error messages (config.json, or config.json → text_config). */
    readonly source: string,
  ) {}

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  number(key: string, fallback?: number): number {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw this.invalid(key, 'a number');
    }
    return value;
  }

  int(key: string, fallback?: number): number {
    const value = this.number(key, fallback);
    if (!Number.isInteger(value) || value < 0) {
      throw this.invalid(key, 'a non-negative integer');
    }
    return value;
  }

  optionalInt(key: string): number | undefined {
    return this.has(key) ? this.int(key) : undefined;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== 'boolean') {
      throw this.invalid(key, 'true or false');
    }
    return value;
  }

  string(key: string, fallback?: string): string {
    const value = this.raw[key] ?? fallback;
    if (typeof value !== 'string') {
      throw this.invalid(key, 'a string');
    }
    return value;
  }

  intList(key: string, fallback: number[]): number[] {
    const value = this.raw[key] ?? fallback;
    if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v))) {
      throw this.invalid(key, 'a list of integers');
    }
    return value as number[];
  }

  stringList(key: string): string[] | undefined {
    const value = this.raw[key];
    if (value === undefined || value === null) {
      return undefined;
    }
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw this.invalid(key, 'a list of strings');
    }
    return value as string[];
  }

  object(key: string): ModelConfig | undefined {
    const value = this.raw[key];
    if (value === undefined || value === null) {
      return undefined;
    }
    if (!isJsonObject(value)) {
      throw this.invalid(key, 'an object');
    }
    return new ModelConfig(value, `${this.source} → ${key}`);
  }

  /** The same object with defaults under it: checkpoints omit fields whose value is the default. */
  withDefaults(defaults: JsonObject): ModelConfig {
    return new ModelConfig({ ...defaults, ...this.raw }, this.source);
  }

  invalid(key: string, expected: string): InvalidModelConfigError {
    return new InvalidModelConfigError(this.source, `"${key}" must be ${expected}, got ${JSON.stringify(this.raw[key])}`);
  }
}
