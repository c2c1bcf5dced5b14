export * from './config';
export * from './layout';
export * from './load';
export * from './pipeline';
export * from './slices';
