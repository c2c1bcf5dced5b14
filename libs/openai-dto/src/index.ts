export * from './chat';
export * from './common';
export * from './errors';
