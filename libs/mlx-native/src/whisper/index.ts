export * from './languages';
export * from './tokenizer';
export * from './tokenizer-source';
export * from './model';
export * from './decoding';
export * from './timing';
export * from './transcribe';
export * from './load';
