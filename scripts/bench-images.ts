/**
 * FLUX benchmark on the ~100M-parameter transformer fixture (float32, schnell-shaped, diffusers layout):
 *   node dist/scripts/bench-images.js [--steps 4]
 * Prints, at 256² and 512², the seconds per denoising step and per image, where a step's time goes
 * (the transformer against the VAE decode, which runs once per image), and the peak RSS.
 */
import { core as mx } from '@frost-beta/mlx';
import { loadFluxPipeline, sliceRunner, type SliceRunner } from '@mlx-omni/mlx-native';
import { BENCH_FLUX_FIXTURE_SPEC, ensureFluxFixtures } from '@mlx-omni/model-fixtures';
import { resolve } from 'node:path';

function argValue(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const parametersOf = (bytes: number) => bytes / 4;

async function main(): Promise<void> {
  const steps = argValue('steps', 4);
  const hub = resolve(process.env['HF_HUB_CACHE'] ?? './.fixtures/hub');
  const dir = (await ensureFluxFixtures(hub, [BENCH_FLUX_FIXTURE_SPEC.id])).get(BENCH_FLUX_FIXTURE_SPEC.id)!;
  const loadStarted = performance.now();
  const pipeline = await loadFluxPipeline(dir, { weights: 'auto' });
  const d = BENCH_FLUX_FIXTURE_SPEC.dims;
  const hidden = d.heads * d.headDim;
  const transformerParameters = 4 * hidden * d.t5.dModel + d.doubleBlocks * 36 * hidden * hidden + d.singleBlocks * 15 * hidden * hidden;
  console.log(`device ${mx.metal.isAvailable() ? 'gpu (Metal)' : 'cpu'}; model ${BENCH_FLUX_FIXTURE_SPEC.id}: ~${(transformerParameters / 1e6).toFixed(0)}M transformer parameters, ${(parametersOf(pipeline.weightBytes) / 1e6).toFixed(0)}M in all; loaded in ${((performance.now() - loadStarted) / 1000).toFixed(2)} s`);

  const encodeStarted = performance.now();
  const prompt = await pipeline.encodePrompt('a watercolor painting of a lighthouse at dusk with waves');
  console.log(`prompt encoding (CLIP + T5, 256 tokens): ${((performance.now() - encodeStarted) / 1000).toFixed(3)} s`);

  for (const side of [256, 512]) {
    // One warm-up image per size: MLX compiles kernels and the allocator grows on first use.
    await pipeline.generate(prompt, { width: side, height: side, steps: 1, guidance: 0, seed: 0 });
    const stepTimes: number[] = [];
    let last = 0;
    const run: SliceRunner = sliceRunner();
    const started = performance.now();
    last = started;
    await pipeline.generate(prompt, { width: side, height: side, steps, guidance: 0, seed: 1 }, {
      run,
      onStep: () => {
        const now = performance.now();
        stepTimes.push(now - last);
        last = now;
      },
    });
    const total = performance.now() - started;
    const vae = performance.now() - last;
    const step = stepTimes.reduce((a, b) => a + b, 0) / stepTimes.length;
    const transformerShare = (step * steps) / total;
    console.log(
      `${side}x${side}: ${(step / 1000).toFixed(3)} s/step (transformer), VAE decode ${(vae / 1000).toFixed(3)} s, ${(total / 1000).toFixed(2)} s/image at ${steps} steps; ` +
        `time per image: transformer ${(100 * transformerShare).toFixed(0)}%, VAE ${(100 * (vae / total)).toFixed(0)}%`,
    );
    await new Promise(setImmediate);
    (globalThis as { gc?: () => void }).gc?.();
  }
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
