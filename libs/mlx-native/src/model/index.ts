export * from './language-model';
export * from './layers';
export * from './rope';
export * from './attention';
export * from './feed-forward';
export * from './sparse-moe';
export * from './decoder';
