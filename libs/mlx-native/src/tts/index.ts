export * from './speech-synthesizer';
export * from './kokoro';
export * from './f5';
