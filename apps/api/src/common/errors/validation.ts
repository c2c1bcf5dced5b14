import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ApiError } from './api-error';

/** Walks to the first failing leaf so `param` names the exact field, e.g. `messages[1].role`. */
function firstFailure(errors: ValidationError[], parent = ''): { param: string; message: string } | undefined {
  for (const error of errors) {
    const path = /^\d+$/.test(error.property) ? `${parent}[${error.property}]` : parent === '' ? error.property : `${parent}.${error.property}`;
    if (error.constraints !== undefined) {
      const message = Object.values(error.constraints)[0];
      return { param: path, message: message.replace(error.property, path) };
    }
    const nested = firstFailure(error.children ?? [], path);
    if (nested !== undefined) {
      return nested;
    }
  }
  return undefined;
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
    exceptionFactory: (errors) => {
      const failure = firstFailure(errors) ?? { param: '', message: 'Invalid request body' };
      return new ApiError(400, failure.message, { param: failure.param || null, code: 'invalid_value' });
    },
  });
}
