export * from './child-process';
