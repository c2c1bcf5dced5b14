import { GEMMA } from './gemma';
import { HERMES } from './hermes';
import { LLAMA3 } from './llama3';
import { MISTRAL } from './mistral';
import { MarkupToolCallParser, ToolCallFamily, ToolCallParser, ToolCallParserOptions } from './tool-call-parser';

/**
 * Every supported format, in the order template markers are tried. Hermes comes first because
 * Hermes fine-tunes of Llama and Mistral keep their base model_type but speak `<tool_call>`.
 */
export const TOOL_CALL_FAMILIES: readonly ToolCallFamily[] = [HERMES, MISTRAL, LLAMA3, GEMMA];

export interface ModelToolFormatHints {
  /** `model_type` from the model's config.json. */
  readonly modelType?: string;
  /** The Jinja chat template the model ships. */
  readonly chatTemplate?: string;
}

/**
 * The family whose markers the chat template contains, else the one registered for the
 * model_type, else Hermes, the format most open models are fine-tuned on.
 */
export function toolCallFamilyFor(hints: ModelToolFormatHints): ToolCallFamily {
  const template = hints.chatTemplate ?? '';
  return (
    TOOL_CALL_FAMILIES.find((f) => f.templateMarkers.some((m) => template.includes(m))) ??
    TOOL_CALL_FAMILIES.find((f) => hints.modelType !== undefined && f.modelTypes.includes(hints.modelType)) ??
    HERMES
  );
}

export function createToolCallParser(family: ToolCallFamily, options: ToolCallParserOptions = {}): ToolCallParser {
  return new MarkupToolCallParser(family.name, family.sections, options);
}
