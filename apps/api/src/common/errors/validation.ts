import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ApiError } from './api-error';

/**
 * class-validator reports every constraint a value breaks, in no useful order: a missing `messages`
 * breaks isArray, arrayMinSize and arrayMaxSize alike. What the value is (its type) is said before
 * what it holds (its size, its range), so a person reads the first thing to fix.
 */
const TYPE_CONSTRAINTS = ['isDefined', 'isString', 'isInt', 'isNumber', 'isBoolean', 'isArray', 'isObject', 'isIn', 'equals'];

function mostRelevant(error: ValidationError, path: string): string {
  // Optional fields are skipped when absent, so a constraint on an absent value means it is required.
  // (Nest strips the value of errors that have children; those are not absent.)
  if ('value' in error && error.value === undefined && (error.children ?? []).length === 0) {
    return `${path} is required`;
  }
  const constraints = error.constraints!;
  const name = TYPE_CONSTRAINTS.find((type) => type in constraints) ?? Object.keys(constraints)[0];
  return constraints[name].replace(error.property, path);
}

/** Walks to the first failing leaf so `param` names the exact field, e.g. `messages[1].role`. */
function firstFailure(errors: ValidationError[], parent = ''): { param: string; message: string } | undefined {
  for (const error of errors) {
    const path = /^\d+$/.test(error.property) ? `${parent}[${error.property}]` : parent === '' ? error.property : `${parent}.${error.property}`;
    if (error.constraints !== undefined) {
      return { param: path, message: mostRelevant(error, path) };
    }
    const nested = firstFailure(error.children ?? [], path);
    if (nested !== undefined) {
      return nested;
    }
  }
  return undefined;
}

/** The 400 for failed class-validator checks, `param` naming the first failing field; undefined when none failed. */
export function validationFailure(errors: ValidationError[]): ApiError | undefined {
  if (errors.length === 0) {
    return undefined;
  }
  const failure = firstFailure(errors) ?? { param: '', message: 'Invalid request body' };
  return new ApiError(400, failure.message, { param: failure.param || null, code: 'invalid_value' });
}

/**
 * Registered as APP_PIPE. Unknown fields are stripped, not rejected (OpenAI clients send fields a
 * local server may not know); wrong types and values answer 400 with `param` naming the field.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: false,
    exceptionFactory: (errors) => validationFailure(errors) ?? new ApiError(400, 'Invalid request body', { code: 'invalid_value' }),
  });
}
