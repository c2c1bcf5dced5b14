export * from './union-validators';
