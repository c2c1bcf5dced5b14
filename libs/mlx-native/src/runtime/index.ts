export * from './device';
export * from './matmul-self-test';
