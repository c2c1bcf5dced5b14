export * from './mask';
export * from './standard-kv-cache';
export * from './rotating-kv-cache';
export * from './prompt-cache';
export * from './aligned-rows-cache';
