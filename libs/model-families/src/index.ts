export * from './families';
export * from './signals';
export * from './image-layouts';
