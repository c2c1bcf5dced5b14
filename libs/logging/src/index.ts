export * from './logger';
export { formatPrettyLine } from './pretty';
