export * from './f5';
export * from './families';
export * from './signals';
export * from './image-layouts';
export * from './voices';
export * from './whisper';
