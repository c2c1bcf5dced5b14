export * from './chat-template';
export * from './errors';
export * from './model-tokenizer';
export * from './streaming-detokenizer';
export type { PieceDecoding } from './token-bytes';
export * from './sentencepiece';
export * from './prompt-tokenizer';
