export * from './constants';
export * from './decode-audio';
export * from './log-mel';
export * from './stft';
export * from './mel-spectrogram';
