export * from './generation-protocol';
export * from './client';
export * from './errors';
export * from './frames';
export * from './memory-channel';
export * from './protocol';
export * from './server';
export * from './worker-protocol';
