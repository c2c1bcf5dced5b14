export * from './errors';
export * from './fair-step-scheduler';
export * from './events';
export * from './generate-text';
export * from './generate-tokens';
export * from './logits-processing';
export * from './sampling';
export * from './stop-sequences';
