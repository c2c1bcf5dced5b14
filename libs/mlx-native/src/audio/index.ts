export * from './stft';
