export * from './generation-protocol';
export * from './client';
export * from './errors';
export * from './frames';
export * from './protocol';
export * from './server';
export * from './worker-protocol';
export * from './transcription-protocol';
