export * from './api-keys';
export * from './key-file';
