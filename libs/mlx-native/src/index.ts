export * from './runtime';
export * from './tokenizer';
export * from './model';
export * from './cache';
export * from './loading';
export * from './models';
export * from './generation';
