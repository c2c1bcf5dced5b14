/** Whisper's fixed front end: 16 kHz audio, 25 ms windows every 10 ms, 30-second windows of 3,000 frames. */
export const SAMPLE_RATE = 16_000;
export const N_FFT = 400;
export const HOP_LENGTH = 160;
export const CHUNK_SECONDS = 30;
export const N_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE;
export const N_FRAMES = N_SAMPLES / HOP_LENGTH;
export const FRAMES_PER_SECOND = SAMPLE_RATE / HOP_LENGTH;
