import { resolve } from 'node:path';
import { ensureFixtures } from './ensure-fixtures';
import { ensureF5Fixtures, F5_BENCH_SPEC, F5_FIXTURE_SPECS } from './f5-fixtures';
import { ensureKokoroFixtures, KOKORO_BENCH_SPEC, KOKORO_FIXTURE_SPECS } from './kokoro';
import { ensureWhisperFixtures, WHISPER_BENCH_FIXTURE_SPEC, WHISPER_FIXTURE_SPECS } from './whisper-fixtures';
import { BENCH_256M_FIXTURE_SPEC, BENCH_FIXTURE_SPEC, EMBEDDING_BENCH_FIXTURE_SPEC, EMBEDDING_FIXTURE_SPECS, FIXTURE_SPECS } from './specs';

/**
 * `npm run fixtures [-- --bench]`: writes the tiny test models, chat and speech (and with --bench the ~100M and ~256M chat
 * models, the Whisper-tiny-sized one, the full-size Kokoro and the small F5-TTS) into $HF_HUB_CACHE, or
 * ./.fixtures/hub. F5-TTS brings the Vocos repo it speaks through.
 */
async function main(): Promise<void> {
  // Not the service's config default (~/.cache/huggingface/hub): test models stay out of the
  // user's real cache unless HF_HUB_CACHE asks for them there.
  const hub = resolve(process.env['HF_HUB_CACHE'] ?? './.fixtures/hub');
  const bench = process.argv.includes('--bench');
  const ids = [...FIXTURE_SPECS, ...EMBEDDING_FIXTURE_SPECS].map((s) => s.id);
  const speechIds = KOKORO_FIXTURE_SPECS.map((s) => s.id);
  const f5Ids = F5_FIXTURE_SPECS.map((s) => s.id);
  if (bench) {
    ids.push(BENCH_FIXTURE_SPEC.id, BENCH_256M_FIXTURE_SPEC.id, EMBEDDING_BENCH_FIXTURE_SPEC.id);
    speechIds.push(KOKORO_BENCH_SPEC.id);
    f5Ids.push(F5_BENCH_SPEC.id);
  }
  const started = Date.now();
  const whisperIds = WHISPER_FIXTURE_SPECS.map((s) => s.id);
  if (bench) {
    whisperIds.push(WHISPER_BENCH_FIXTURE_SPEC.id);
  }
  // The Whisper fixtures bring the openai/whisper-* tokenizer repos they need (never over a real one already cached).
  const dirs = new Map([
    ...(await ensureFixtures(hub, ids)),
    ...(await ensureWhisperFixtures(hub, whisperIds)),
    ...(await ensureKokoroFixtures(hub, speechIds)),
    ...(await ensureF5Fixtures(hub, f5Ids)),
  ]);
  for (const [id, dir] of dirs) {
    console.log(`${id}\t${dir}`);
  }
  console.log(`${dirs.size} fixtures ready in ${hub} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
