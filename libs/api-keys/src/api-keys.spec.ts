import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addKey, findKey, generateApiKey, hashApiKey, KeyFileError, readKeyFile, revokeKey, writeKeyFile, type KeyFile } from '.';

describe('API keys', () => {
  it('generates distinct 256-bit keys and stores only their SHA-256', () => {
    const [first, second] = [generateApiKey(), generateApiKey()];
    expect(first).toMatch(/^omni-[A-Za-z0-9_-]{43}$/);
    expect(first).not.toBe(second);
    // The same digest `printf omni-abc | sha256sum` gives, so a file can be checked with standard tools.
    expect(hashApiKey('omni-abc')).toBe('45c759e929c99bac068735a8f6f1d01cfbc92d508c3e9d5ed2f33594642ad47a');
  });

  it('finds the key whose hash matches, and nothing for a prefix, a longer key or a near miss', () => {
    let file: KeyFile = { version: 1, keys: [] };
    const alice = addKey(file, 'alice', 'user');
    const root = addKey(alice.file, 'root', 'admin');
    file = root.file;
    expect(findKey(file.keys, alice.key)).toMatchObject({ name: 'alice', role: 'user' });
    expect(findKey(file.keys, root.key)).toMatchObject({ name: 'root', role: 'admin' });
    for (const wrong of [alice.key.slice(0, -1), `${alice.key}x`, '', `${alice.key.slice(0, -1)}${alice.key.endsWith('A') ? 'B' : 'A'}`]) {
      expect(findKey(file.keys, wrong)).toBeUndefined();
    }
    expect(JSON.stringify(file)).not.toContain(alice.key);
  });

  it('refuses duplicate and malformed names, and revoking a key that does not exist', () => {
    const { file } = addKey({ version: 1, keys: [] }, 'ci.bot-1', 'user');
    expect(() => addKey(file, 'ci.bot-1', 'admin')).toThrow('a key named "ci.bot-1" already exists');
    expect(() => addKey(file, 'has space', 'user')).toThrow(KeyFileError);
    expect(() => revokeKey(file, 'nobody')).toThrow('no key named "nobody"');
    expect(revokeKey(file, 'ci.bot-1').keys).toEqual([]);
  });
});

describe('keys file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omni-keys-'));

  it('round-trips through an atomic write with mode 0600, leaving no temporary file', () => {
    const path = join(dir, 'keys.json');
    expect(readKeyFile(path)).toEqual({ version: 1, keys: [] });
    const { file } = addKey({ version: 1, keys: [] }, 'alice', 'user', new Date('2026-01-02T03:04:05Z'));
    writeKeyFile(path, file);
    writeKeyFile(path, addKey(file, 'bob', 'admin').file);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['keys.json']);
    expect(readKeyFile(path).keys.map((key) => [key.name, key.role])).toEqual([
      ['alice', 'user'],
      ['bob', 'admin'],
    ]);
    expect(JSON.parse(readFileSync(path, 'utf8')).keys[0].created_at).toBe('2026-01-02T03:04:05.000Z');
  });

  it('keeps a key’s own limits through a write and a read, and leaves them out when it has none', () => {
    const path = join(dir, 'limits.json');
    const { file } = addKey({ version: 1, keys: [] }, 'batch', 'user', new Date(), { rpm: 600, concurrency: 0 });
    writeKeyFile(path, addKey(file, 'plain', 'user').file);
    expect(readKeyFile(path).keys.map((key) => key.limits)).toEqual([{ rpm: 600, concurrency: 0 }, undefined]);
  });

  it.each([
    ['not JSON', '{', 'is not valid JSON'],
    ['the wrong shape', '{"keys": {}}', 'must be {"version": 1, "keys": [...]}'],
    ['an unknown role', '{"version":1,"keys":[{"name":"a","role":"root","hash":"' + 'a'.repeat(64) + '"}]}', 'keys[0].role must be one of user, admin'],
    ['a short hash', '{"version":1,"keys":[{"name":"a","role":"user","hash":"abc"}]}', 'keys[0].hash must be a hex SHA-256'],
    ['a negative limit', '{"version":1,"keys":[{"name":"a","role":"user","hash":"' + 'a'.repeat(64) + '","limits":{"rpm":-1}}]}', 'keys[0].limits.rpm must be a whole number, 0 for no limit, got -1'],
    ['an unknown limit', '{"version":1,"keys":[{"name":"a","role":"user","hash":"' + 'a'.repeat(64) + '","limits":{"rps":1}}]}', 'keys[0].limits.rps is not a limit; the limits are rpm, tpm, concurrency'],
  ])('rejects %s naming the file and the entry', (_case, text, message) => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, text);
    expect(() => readKeyFile(path)).toThrow(KeyFileError);
    expect(() => readKeyFile(path)).toThrow(`${path}`);
    expect(() => readKeyFile(path)).toThrow(message);
  });
});
