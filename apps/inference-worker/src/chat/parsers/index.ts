export { GEMMA } from './gemma';
export { HERMES } from './hermes';
export { LLAMA3 } from './llama3';
export { MISTRAL } from './mistral';
export { QWEN3_CODER } from './qwen3-coder';
export { GLM45 } from './glm45';
export { HarmonyStream, promptExpectsHarmony } from './harmony';
export type { HarmonyOutput } from './harmony';
export { promptOpensReasoning, ReasoningSplitter, splitReasoning } from './reasoning-splitter';
export type { ReasoningSplit, ReasoningSplitterOptions } from './reasoning-splitter';
export { createToolCallParser, TOOL_CALL_FAMILIES, toolCallFamilyFor } from './registry';
export type { MarkupToolCallFormat, ModelToolFormatHints } from './registry';
export type {
  ParsedOutput,
  ParsedToolCall,
  ToolCallFamily,
  ToolCallParser,
  ToolCallParserOptions,
  ToolCallStream,
} from './tool-call-parser';
