export * from './contract';
export * from './redis-connection';
export * from './processor-options';
export * from './redis-link';
export * from './artifacts';
export * from './job-errors';
export * from './speech';
