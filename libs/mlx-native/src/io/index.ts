export * from './errors';
export * from './model-config';
export * from './quantization';
export * from './safetensors';
export * from './weight-store';
export * from './load-weights';
export * from './npz';
export * from './host-arrays';
