export * from './families';
export * from './signals';
export * from './whisper';
