export * from './audio';
export * from './chat';
export * from './common';
export * from './completions';
export * from './errors';
export * from './embeddings';
export * from './rerank';
export * from './audio';
