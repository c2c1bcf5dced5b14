import { ValidateBy, type ValidationOptions } from 'class-validator';

/** `stop`: one string or a list of up to `max` non-empty strings, as OpenAI accepts. */
export function IsStopSequences(max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStopSequences',
      validator: {
        validate: (value: unknown) =>
          (typeof value === 'string' && value.length > 0) ||
          (Array.isArray(value) && value.length <= max && value.every((item) => typeof item === 'string' && item.length > 0)),
        defaultMessage: () => `$property must be a non-empty string or an array of at most ${max} non-empty strings`,
      },
    },
    options,
  );
}

/** `logit_bias`: token ids (as object keys) mapped to biases between -100 and 100. */
export function IsLogitBias(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isLogitBias',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.entries(value).every(([token, bias]) => /^\d+$/.test(token) && typeof bias === 'number' && bias >= -100 && bias <= 100),
        defaultMessage: () => '$property must map token ids to numbers between -100 and 100',
      },
    },
    options,
  );
}

/** A plain JSON object (not an array, not null): JSON Schemas, template kwargs. */
export function IsPlainObject(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPlainObject',
      validator: {
        validate: (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value),
        defaultMessage: () => '$property must be a JSON object',
      },
    },
    options,
  );
}

/**
 * A list whose every element is a JSON object. `ValidateNested({ each: true })` checks the objects
 * of a list but lets nulls and lists nested in the list through unchecked, which would then reach
 * code that reads their fields.
 */
export function IsObjectArray(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isObjectArray',
      validator: {
        validate: (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item)),
        defaultMessage: () => '$property must be an array of objects',
      },
    },
    options,
  );
}

const isTokenIds = (value: unknown): value is number[] =>
  Array.isArray(value) && value.length > 0 && value.every((id) => Number.isInteger(id) && (id as number) >= 0);

/**
 * OpenAI's four forms of text input (completions' `prompt`, embeddings' `input`): a string, a list of
 * strings, a list of token ids, or a list of such lists. Lists are never empty; `maxItems` bounds them
 * and `nonEmptyText` refuses empty strings (embeddings: nothing to embed).
 */
export function IsTextOrTokenIds(options: { maxItems?: number; nonEmptyText?: boolean } = {}): PropertyDecorator {
  const { maxItems = Infinity, nonEmptyText = false } = options;
  const isText = (value: unknown) => typeof value === 'string' && (!nonEmptyText || value.length > 0);
  return ValidateBy({
    name: 'isTextOrTokenIds',
    validator: {
      validate: (value: unknown) =>
        isText(value) ||
        (isTokenIds(value) && value.length <= maxItems) ||
        (Array.isArray(value) && value.length > 0 && value.length <= maxItems && value.every((item) => isText(item) || isTokenIds(item))),
      defaultMessage: () =>
        `$property must be a ${nonEmptyText ? 'non-empty ' : ''}string, an array of ${nonEmptyText ? 'non-empty ' : ''}strings, an array of token ids, or an array of token-id arrays` +
        (Number.isFinite(maxItems) ? `, with at least one and at most ${maxItems} items` : ''),
    },
  });
}
