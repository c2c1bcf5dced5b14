import { GEMMA } from './gemma';
import { HERMES } from './hermes';
import { LLAMA3 } from './llama3';
import { MISTRAL } from './mistral';
import { QWEN3_CODER } from './qwen3-coder';
import { GLM45 } from './glm45';
import type { ToolCallFormat } from '@mlx-omni/model-families';
import { MarkupToolCallParser, ToolCallFamily, ToolCallParser, ToolCallParserOptions } from './tool-call-parser';

/** Markup formats; harmony is a channel format that HarmonyStream reads whole, reasoning and calls together. */
export type MarkupToolCallFormat = Exclude<ToolCallFormat, 'harmony'>;

/** The parser of every markup format model-families can declare; a declared format without one does not compile. */
const PARSERS: Readonly<Record<MarkupToolCallFormat, ToolCallFamily>> = {
  hermes: HERMES,
  mistral: MISTRAL,
  llama3: LLAMA3,
  gemma: GEMMA,
  qwen3_coder: QWEN3_CODER,
  glm45: GLM45,
};

/**
 * Every supported format, in the order template markers are tried. Formats that wrap calls in
 * `<tool_call>` with their own markup inside (Qwen3-Coder, GLM) come before Hermes; Hermes comes before
 * the rest because Hermes fine-tunes of Llama and Mistral keep their base model_type but speak `<tool_call>`.
 */
export const TOOL_CALL_FAMILIES: readonly ToolCallFamily[] = [QWEN3_CODER, GLM45, HERMES, MISTRAL, LLAMA3, GEMMA];

export interface ModelToolFormatHints {
  /** The format model-families declares for the model's family. */
  readonly declaredFormat?: ToolCallFormat;
  /** The Jinja chat template the model ships. */
  readonly chatTemplate?: string;
}

/**
 * The format whose markers the chat template contains, else the one the model's family declares,
 * else Hermes, the format most open models are fine-tuned on.
 */
export function toolCallFamilyFor(hints: ModelToolFormatHints): ToolCallFamily {
  const template = hints.chatTemplate ?? '';
  return (
    TOOL_CALL_FAMILIES.find((f) => f.templateMarkers.some((m) => template.includes(m))) ??
    (hints.declaredFormat === undefined || hints.declaredFormat === 'harmony' ? HERMES : PARSERS[hints.declaredFormat])
  );
}

export function createToolCallParser(family: ToolCallFamily, options: ToolCallParserOptions = {}): ToolCallParser {
  return new MarkupToolCallParser(family.name, family.sections, options);
}
