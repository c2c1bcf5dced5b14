export * from './language-model';
export * from './decoder';
export * from './load-language-model';
export * from './cache';
export * from './architectures';
export * from './generate';
export * from './engine';
