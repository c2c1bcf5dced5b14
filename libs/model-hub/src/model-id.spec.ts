import { InvalidModelIdError } from './errors';
import { parseModelId, repoFolderName, repoIdFromFolder } from './model-id';

describe('parseModelId', () => {
  it.each([
    ['mlx-community/gemma-3-1b-it-4bit-DWQ', { kind: 'repo', repoId: 'mlx-community/gemma-3-1b-it-4bit-DWQ', revision: undefined }],
    ['gpt2', { kind: 'repo', repoId: 'gpt2', revision: undefined }],
    ['org/name@main', { kind: 'repo', repoId: 'org/name', revision: 'main' }],
    ['org/name@refs/pr/1', { kind: 'repo', repoId: 'org/name', revision: 'refs/pr/1' }],
    ['org/Qwen3.5_v2@0123456789abcdef0123456789abcdef01234567', { kind: 'repo', repoId: 'org/Qwen3.5_v2', revision: '0123456789abcdef0123456789abcdef01234567' }],
    ['/Users/me/models/qwen/', { kind: 'path', path: '/Users/me/models/qwen' }],
    ['/models//qwen', { kind: 'path', path: '/models/qwen' }],
  ])('parses %s', (id, parsed) => {
    expect(parseModelId(id)).toEqual(parsed);
  });

  it.each([
    ['', 'it is empty'],
    ['  ', 'it is empty'],
    ['../x', 'expected "name" or "org/name"'],
    ['./x', 'expected "name" or "org/name"'],
    ['org/../../etc', 'expected "name" or "org/name"'],
    ['org/name/extra', 'expected "name" or "org/name"'],
    ['org--evil/name', 'expected "name" or "org/name"'],
    ['org/na..me', 'expected "name" or "org/name"'],
    ['-org/name', 'expected "name" or "org/name"'],
    ['org\\name', 'expected "name" or "org/name"'],
    ['org/name@../../secrets', 'the revision after "@"'],
    ['org/name@', 'the revision after "@"'],
    ['org/name@/main', 'the revision after "@"'],
    ['/models/../etc', 'must not contain "." or ".."'],
    ['/models/x\0', 'NUL'],
  ])('rejects %j', (id, reason) => {
    expect(() => parseModelId(id)).toThrow(InvalidModelIdError);
    expect(() => parseModelId(id)).toThrow(reason);
  });
});

describe('cache folder names', () => {
  it('round-trip between repo ids and models--org--name', () => {
    expect(repoFolderName('mlx-community/Qwen3-0.6B-4bit')).toBe('models--mlx-community--Qwen3-0.6B-4bit');
    expect(repoIdFromFolder('models--mlx-community--Qwen3-0.6B-4bit')).toBe('mlx-community/Qwen3-0.6B-4bit');
    expect(repoIdFromFolder('models--gpt2')).toBe('gpt2');
  });

  it('ignore folders that are not model repos', () => {
    expect(repoIdFromFolder('datasets--org--name')).toBeUndefined();
    expect(repoIdFromFolder('models--a--b--c')).toBeUndefined();
    expect(repoIdFromFolder('models--')).toBeUndefined();
    expect(repoIdFromFolder('version.txt')).toBeUndefined();
  });
});
