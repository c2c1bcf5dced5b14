import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository (or installed package) root: the first folder above this file with a
 * package.json. The same from the TypeScript source (specs) and from dist/ (the service).
 */
function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`no package.json above ${__dirname}`);
    }
    dir = parent;
  }
  return dir;
}

const ROOT = packageRoot();
const SOURCE = join(ROOT, 'libs', 'mlx-native', 'native', 'blas-shim', 'blas-shim.c');

/** Where the build puts the shim: an ignored build folder, built for (and on) the machine that runs it. */
export const BLAS_SHIM_LIBRARY = join(ROOT, 'dist', 'native', 'libmlx-omni-blas-shim.so');

/** The built shim, on Linux only (Metal and Accelerate have no such problem); undefined when it was not built. */
export function builtBlasShim(): string | undefined {
  return process.platform === 'linux' && existsSync(BLAS_SHIM_LIBRARY) ? BLAS_SHIM_LIBRARY : undefined;
}

const isUpToDate = () => existsSync(BLAS_SHIM_LIBRARY) && (!existsSync(SOURCE) || statSync(BLAS_SHIM_LIBRARY).mtimeMs >= statSync(SOURCE).mtimeMs);

/**
 * Compiles the shim with the system C compiler when it is missing or older than its source; Linux
 * only, idempotent. Without a compiler it says so in one line and returns undefined: the workers
 * then run on the plain BLAS, correct but slower at decoding.
 */
export function ensureBlasShim(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): string | undefined {
  if (process.platform !== 'linux') {
    return undefined;
  }
  if (isUpToDate()) {
    return BLAS_SHIM_LIBRARY;
  }
  mkdirSync(dirname(BLAS_SHIM_LIBRARY), { recursive: true });
  // Written beside and renamed, so a worker starting meanwhile never preloads half a file.
  const partial = `${BLAS_SHIM_LIBRARY}.${process.pid}.tmp`;
  // -march=native: built where it runs. -fopenmp-simd vectorises the kernel's reductions without OpenMP's runtime.
  const args = ['-O3', '-march=native', '-fopenmp-simd', '-fPIC', '-shared', '-Wall', '-o', partial, SOURCE, '-ldl', '-lpthread'];
  const compiled = spawnSync('cc', args, { encoding: 'utf8' });
  if (compiled.error !== undefined || compiled.status !== 0) {
    const why = compiled.error !== undefined ? 'no C compiler (cc)' : `cc failed: ${compiled.stderr.trim().split('\n').slice(-1)[0]}`;
    log(`blas-shim: ${why}; skipped, the CPU backend decodes through plain sgemm (slower)`);
    return undefined;
  }
  renameSync(partial, BLAS_SHIM_LIBRARY);
  return BLAS_SHIM_LIBRARY;
}

/** LD_PRELOAD with the shim appended, keeping what the environment already preloads. */
export function withBlasShimPreloaded(ldPreload: string | undefined, shim: string): string {
  return ldPreload === undefined || ldPreload === '' ? shim : `${ldPreload}:${shim}`;
}
