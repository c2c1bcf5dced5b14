export * from './speech-synthesizer';
export * from './kokoro';
