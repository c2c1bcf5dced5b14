export * from './kv-cache';
export * from './layers';
export * from './rope';
export * from './attention';
export * from './feed-forward';
export * from './sparse-moe';
export * from './norms-activations';
