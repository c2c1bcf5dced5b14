import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './testing/probes';

/**
 * Runs scripts/ensure-system-deps.sh in a scratch copy of the repository with a PATH of stubs:
 * apt-get, sudo, brew, npm and friends only record how they were called, so every branch of the
 * script can run here without installing anything.
 */
const SCRIPT = join(__dirname, '..', '..', '..', 'scripts', 'ensure-system-deps.sh');
const REAL_TOOLS = ['bash', 'dirname', 'touch', 'grep', 'env', 'cat'];

interface Machine {
  os?: 'Linux' | 'Darwin';
  arch?: string;
  uid?: number;
  /** Commands on PATH besides the basics; e.g. redis-server, promtool, sudo, apt-get, brew. */
  commands?: string[];
  /** Debian packages dpkg-query reports as not installed. */
  missingPackages?: string[];
  nodeModules?: 'missing' | 'current' | 'older-than-lock';
  /** What `file` says about the MLX binary (macOS). */
  mlxBinary?: string;
  metallib?: boolean;
  /** Run as `npm test` does (`--tests`: also the test-only packages). */
  forTests?: boolean;
}

function run(machine: Machine): { status: number | null; stderr: string; calls: string[] } {
  const root = tempDir();
  const bin = join(root, 'stub-bin');
  const calls = join(root, 'calls');
  mkdirSync(join(root, 'scripts'));
  copyFileSync(SCRIPT, join(root, 'scripts', 'ensure-system-deps.sh'));
  mkdirSync(bin);
  for (const tool of REAL_TOOLS) {
    symlinkSync(execFileSync('bash', ['-c', `command -v ${tool}`]).toString().trim(), join(bin, tool));
  }
  symlinkSync(process.execPath, join(bin, 'node'));
  const stub = (name: string, body = ''): void => {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> "${calls}"\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub('uname', `[ "$1" = -m ] && echo ${machine.arch ?? 'x86_64'} || echo ${machine.os ?? 'Linux'}`);
  stub('id', `echo ${machine.uid ?? 0}`);
  stub('npm');
  stub('file', `echo '${machine.mlxBinary ?? 'ELF 64-bit LSB shared object, x86-64'}'`);
  const missing = machine.missingPackages ?? [];
  stub('dpkg-query', `case " ${missing.join(' ')} " in *" \${@: -1} "*) exit 1;; *) printf 'install ok installed';; esac`);
  for (const command of machine.commands ?? ['apt-get', 'redis-server', 'promtool', 'ffmpeg', 'espeak-ng', 'chromium']) {
    stub(command, command === 'sudo' ? '"$@"' : '');
  }

  writeFileSync(join(root, 'package-lock.json'), '{}');
  const mlx = join(root, 'node_modules', '@frost-beta', 'mlx');
  mkdirSync(join(mlx, 'build', 'Release'), { recursive: true });
  writeFileSync(join(mlx, 'install.js'), `require('fs').appendFileSync(${JSON.stringify(calls)}, 'mlx install.js\\n')`);
  if (machine.metallib === true) {
    writeFileSync(join(mlx, 'build', 'Release', 'mlx.metallib'), '');
  }
  const marker = join(root, 'node_modules', '.package-lock.json');
  if ((machine.nodeModules ?? 'current') !== 'missing') {
    writeFileSync(marker, '{}');
    const lockTime = new Date(Date.now() - 60_000);
    const markerTime = new Date(machine.nodeModules === 'older-than-lock' ? Date.now() - 120_000 : Date.now());
    utimesSync(join(root, 'package-lock.json'), lockTime, lockTime);
    utimesSync(marker, markerTime, markerTime);
  }

  const result = spawnSync(join(bin, 'bash'), [join(root, 'scripts', 'ensure-system-deps.sh'), ...(machine.forTests ? ['--tests'] : [])], {
    env: { PATH: bin, HOME: root },
    encoding: 'utf8',
  });
  const recorded = existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean) : [];
  // uname, id, file and dpkg-query only answer questions; the rest is what the script did.
  return {
    status: result.status,
    stderr: result.stderr,
    calls: recorded.filter((call) => !/^(uname|id|file|dpkg-query) /.test(call)),
  };
}

describe('scripts/ensure-system-deps.sh', () => {
  it('only builds, silently, when everything is in place', () => {
    expect(run({})).toEqual({ status: 0, stderr: '', calls: ['npm run --silent build'] });
  });

  it('installs the missing Debian packages with one apt-get update', () => {
    const { status, calls } = run({ commands: ['apt-get', 'espeak-ng'], missingPackages: ['libopenblas0-pthread'] });
    expect(status).toBe(0);
    expect(calls).toEqual([
      'apt-get update -qq',
      'apt-get install -y -qq --no-install-recommends redis-server ffmpeg libopenblas0-pthread',
      'npm run --silent build',
    ]);
  });

  it('adds the test-only packages (promtool, chromium) for npm test, and only then', () => {
    const machine = { commands: ['apt-get', 'redis-server', 'ffmpeg', 'espeak-ng'] };
    expect(run(machine).calls).toEqual(['npm run --silent build']);
    expect(run({ ...machine, forTests: true }).calls).toEqual([
      'apt-get update -qq',
      'apt-get install -y -qq --no-install-recommends prometheus chromium',
      'npm run --silent build',
    ]);
  });

  it('goes through sudo when not root', () => {
    const { status, calls } = run({ uid: 1000, commands: ['apt-get', 'sudo', 'redis-server', 'chromium'] });
    expect(status).toBe(0);
    expect(calls.slice(0, 2)).toEqual([
      'sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq',
      'apt-get update -qq',
    ]);
  });

  it('says what to do when it is neither root nor has sudo', () => {
    const { status, stderr } = run({ uid: 1000, commands: ['apt-get', 'redis-server', 'chromium'] });
    expect(status).toBe(1);
    expect(stderr).toContain('need root');
  });

  it.each(['missing', 'older-than-lock'] as const)('runs npm ci without install scripts when node_modules is %s', (nodeModules) => {
    const { status, calls } = run({ nodeModules });
    expect(status).toBe(0);
    expect(calls).toEqual(['npm ci --ignore-scripts --no-audit --no-fund --loglevel=error', 'npm run --silent build']);
  });

  it('installs Redis, ffmpeg and espeak-ng with Homebrew and fetches the Metal MLX build on Apple silicon', () => {
    const { status, calls } = run({ os: 'Darwin', arch: 'arm64', commands: ['brew'] });
    expect(status).toBe(0);
    expect(calls).toEqual(['brew install redis ffmpeg espeak-ng', 'mlx install.js', 'npm run --silent build']);
  });

  it('keeps a Metal MLX build that is already there', () => {
    const { calls } = run({ os: 'Darwin', arch: 'arm64', commands: ['redis-server', 'ffmpeg', 'espeak-ng'], mlxBinary: 'Mach-O 64-bit bundle arm64', metallib: true });
    expect(calls).toEqual(['npm run --silent build']);
  });
});
