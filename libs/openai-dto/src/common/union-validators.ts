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
