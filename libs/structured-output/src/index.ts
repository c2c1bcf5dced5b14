export { ConstraintViolationError, ToolChoiceError, UnsupportedSchemaError } from './errors';
export { assertSupportedSchema, DEFAULT_LIMITS } from './grammar';
export type { ConstraintLimits } from './grammar';
export { allowedTokenIds, isTokenAllowed, JsonConstraint, toLogitsMask } from './json-constraint';
export type { JsonConstraintOptions, TokenMask } from './json-constraint';
export { forcedToolCallSchema, parseForcedToolCalls } from './tool-call-schema';
export type { ForcedToolCall, ForcedToolCallOptions, ForcedToolChoice, FunctionTool } from './tool-call-schema';
export type { TokenVocabulary } from './vocabulary';
