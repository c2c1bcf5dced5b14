import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findKey, readKeyFile } from '@mlx-omni/api-keys';
import { runCli } from '../cli';

async function cli(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { env, output: { out: (line) => out.push(line), err: (line) => err.push(line) } });
  return { code, out, err };
}

describe('mlx-omni-server keys', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'omni-keys-cli-')), 'nested', 'keys.json');
  const env = { MLX_OMNI_KEYS_FILE: file };

  it('adds a key, printing it alone on stdout once and storing only its hash, in a 0600 file', async () => {
    const { code, out } = await cli(['keys', 'add', 'alice', '--role', 'admin'], env);
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    expect(findKey(readKeyFile(file).keys, out[0])).toMatchObject({ name: 'alice', role: 'admin' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((await cli(['keys', 'list'], env)).out.join('\n')).toMatch(/^alice +admin +- +- +- +\d{4}-/m);
  });

  it('stores a key’s own limits from --rpm, --tpm and --concurrency, and lists them (- for the server’s, none for 0)', async () => {
    const { code, out } = await cli(['keys', 'add', 'batch', '--rpm', '600', '--tpm', '0', '--concurrency', '4'], env);
    expect(code).toBe(0);
    expect(findKey(readKeyFile(file).keys, out[0])).toMatchObject({ name: 'batch', limits: { rpm: 600, tpm: 0, concurrency: 4 } });
    const listed = (await cli(['keys', 'list'], env)).out;
    expect(listed[0]).toMatch(/^NAME +ROLE +RPM +TPM +CONCURRENCY +CREATED$/);
    expect(listed.join('\n')).toMatch(/^batch +user +600 +none +4 +\d{4}-/m);
    expect((await cli(['keys', 'add', 'odd', '--rpm', 'lots'], env)).err[0]).toContain('--rpm must be a whole number (0 for no limit), got "lots"');
  });

  it('fails with exit code 1 and one line for a duplicate name or revoking an unknown key', async () => {
    expect(await cli(['keys', 'add', 'alice'], env)).toEqual({ code: 1, out: [], err: [expect.stringContaining('a key named "alice" already exists')] });
    expect(await cli(['keys', 'revoke', 'nobody'], env)).toEqual({ code: 1, out: [], err: [expect.stringContaining('no key named "nobody"')] });
  });

  it.each([
    [['keys'], {}, 'keys needs one of add, list, revoke, got ""'],
    [['keys', 'add', 'bob', '--role', 'root'], { MLX_OMNI_KEYS_FILE: '/tmp/k.json' }, '--role must be one of user, admin, got "root"'],
    [['keys', 'add'], { MLX_OMNI_KEYS_FILE: '/tmp/k.json' }, 'keys add takes one key name, got 0'],
    [['keys', 'list'], {}, 'no keys file: set MLX_OMNI_KEYS_FILE'],
  ])('%j with %j is a usage error: %s', async (argv, environment, reason) => {
    const { code, err } = await cli(argv, environment);
    expect(code).toBe(2);
    expect(err[0]).toContain(reason);
  });
});
