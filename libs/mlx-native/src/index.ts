export * from './runtime';
export * from './io';
export * from './nn';
export * from './text';
export * from './lm';
export * from './families';
export * from './audio';
export * from './whisper';
