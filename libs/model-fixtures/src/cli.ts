import { resolve } from 'node:path';
import { ensureFixtures } from './ensure-fixtures';
import { ensureWhisperFixtures, WHISPER_BENCH_FIXTURE_SPEC, WHISPER_FIXTURE_SPECS } from './whisper-fixtures';
import { BENCH_FIXTURE_SPEC, FIXTURE_SPECS } from './specs';

/**
 * `npm run fixtures [-- --bench]`: writes the tiny test models (and with --bench the ~100M
 * benchmark model and the Whisper-tiny-sized one) into $HF_HUB_CACHE, or ./.fixtures/hub.
 */
async function main(): Promise<void> {
  // Not the service's config default (~/.cache/huggingface/hub): test models stay out of the
  // user's real cache unless HF_HUB_CACHE asks for them there.
  const hub = resolve(process.env['HF_HUB_CACHE'] ?? './.fixtures/hub');
  const ids = FIXTURE_SPECS.map((s) => s.id);
  if (process.argv.includes('--bench')) {
    ids.push(BENCH_FIXTURE_SPEC.id);
  }
  const started = Date.now();
  const whisperIds = WHISPER_FIXTURE_SPECS.map((s) => s.id);
  if (process.argv.includes('--bench')) {
    whisperIds.push(WHISPER_BENCH_FIXTURE_SPEC.id);
  }
  // The Whisper fixtures bring the openai/whisper-* tokenizer repos they need (never over a real one already cached).
  const dirs = new Map([...(await ensureFixtures(hub, ids)), ...(await ensureWhisperFixtures(hub, whisperIds))]);
  for (const [id, dir] of dirs) {
    console.log(`${id}\t${dir}`);
  }
  console.log(`${dirs.size} fixtures ready in ${hub} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
