/**
 * Transcription benchmark on a Whisper-tiny-sized random-weight fixture (39M parameters, fp16
 * weights.safetensors, float32 on the CPU backend):
 *   npm run bench:transcription [-- --seconds 60]
 * Speaks ~60 s of English with espeak-ng, transcribes it with timestamps at temperature 0 and prints
 * the real-time factor split into front end (ffmpeg decode + log-mel), encoder and decoder, with
 * the windows and tokens decoded and the peak RSS. A random model never says end-of-text, so each
 * window decodes its full n_text_ctx/2 tokens: the decoder figure is the worst case per window.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeAudioFile, loadWhisper, transcribe, type TranscriptionTimings } from '@mlx-omni/mlx-native';
import { ensureWhisperFixtures, speak, WHISPER_BENCH_FIXTURE_SPEC } from '@mlx-omni/model-fixtures';
import { companionFoldersAt } from '@mlx-omni/model-hub';

function argValue(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

async function main(): Promise<void> {
  const seconds = argValue('seconds', 60);
  const hub = resolve(process.env['HF_HUB_CACHE'] ?? './.fixtures/hub');
  const dir = (await ensureWhisperFixtures(hub, [WHISPER_BENCH_FIXTURE_SPEC.id])).get(WHISPER_BENCH_FIXTURE_SPEC.id)!;
  const scratch = await mkdtemp(join(tmpdir(), 'bench-transcription-'));
  try {
    // About 2.6 words a second at espeak-ng's 160 wpm: enough sentences for the asked duration.
    const sentence = 'The quick brown fox jumps over the lazy dog while the orchestra tunes its instruments. ';
    const text = sentence.repeat(Math.ceil((seconds * 2.7) / sentence.split(' ').length));
    const path = await speak(text, join(scratch, 'speech.wav'));

    const loadStarted = performance.now();
    const whisper = await loadWhisper(dir, { companions: await companionFoldersAt(dir, { hubCache: hub }) });
    const loadSeconds = (performance.now() - loadStarted) / 1000;

    const started = performance.now();
    const decodeStarted = performance.now();
    const full = await decodeAudioFile(path);
    const samples = full.subarray(0, Math.min(full.length, seconds * 16000));
    const ffmpegSeconds = (performance.now() - decodeStarted) / 1000;
    const timings: TranscriptionTimings = { frontEndSeconds: 0, encoderSeconds: 0, decoderSeconds: 0, windows: 0, decodedTokens: 0 };
    const events = transcribe(whisper, samples, { task: 'transcribe', language: 'en', temperature: 0, timings });
    let segments = 0;
    for (let next = await events.next(); !next.done; next = await events.next()) {
      segments += next.value.type === 'segment' ? 1 : 0;
    }
    const total = (performance.now() - started) / 1000;
    const audioSeconds = samples.length / 16000;
    const frontEnd = ffmpegSeconds + timings.frontEndSeconds;
    const rtf = (value: number) => (value / audioSeconds).toFixed(3);
    // Every tensor is float32 once loaded on the CPU backend.
    const parameters = whisper.weightBytes / 4;
    console.log(`model           ${WHISPER_BENCH_FIXTURE_SPEC.id} (${(parameters / 1e6).toFixed(1)}M parameters, float32 on the CPU backend, loaded in ${loadSeconds.toFixed(2)} s)`);
    console.log(`audio           ${audioSeconds.toFixed(1)} s of espeak-ng speech, ${timings.windows} windows, ${segments} segments, ${timings.decodedTokens} tokens decoded`);
    console.log(`front end       ${frontEnd.toFixed(2)} s  (ffmpeg ${ffmpegSeconds.toFixed(2)} s + log-mel ${timings.frontEndSeconds.toFixed(2)} s)  RTF ${rtf(frontEnd)}`);
    console.log(`encoder         ${timings.encoderSeconds.toFixed(2)} s  (${(timings.encoderSeconds / Math.max(1, timings.windows)).toFixed(2)} s per window)  RTF ${rtf(timings.encoderSeconds)}`);
    console.log(`decoder         ${timings.decoderSeconds.toFixed(2)} s  (${((1000 * timings.decoderSeconds) / Math.max(1, timings.decodedTokens)).toFixed(1)} ms per token)  RTF ${rtf(timings.decoderSeconds)}`);
    console.log(`total           ${total.toFixed(2)} s  RTF ${rtf(total)}  (${(audioSeconds / total).toFixed(1)}x real time)`);
    console.log(`peak RSS        ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
