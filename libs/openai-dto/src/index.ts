export * from './chat';
export * from './common';
export * from './completions';
export * from './errors';
export * from './audio';
export * from './responses';
