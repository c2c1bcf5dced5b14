export * from './architecture';
export { findArchitecture, SUPPORTED_MODEL_TYPES } from './registry';
