export * from './device';
export * from './matmul-self-test';
export * from './step-gate';
