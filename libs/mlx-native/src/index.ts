export * from './runtime';
export * from './io';
export * from './nn';
export * from './text';
export * from './lm';
export * from './audio';
export * from './tts';
export * from './families';
