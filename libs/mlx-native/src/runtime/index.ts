export * from './device';
export * from './matmul-self-test';
export * from './paced-work';
export * from './step-gate';
