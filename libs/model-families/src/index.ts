export * from './families';
export * from './signals';
