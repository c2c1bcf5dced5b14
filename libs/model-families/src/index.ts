export * from './families';
export * from './signals';
export * from './image-layouts';
export * from './whisper';
