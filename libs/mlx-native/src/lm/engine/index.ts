export * from './batch-engine';
export * from './sequence';
