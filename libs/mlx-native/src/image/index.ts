export * from './flow-sampler';
export * from './flux';
