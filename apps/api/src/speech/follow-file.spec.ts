import { appendFile, mkdir, mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { followGrowingFile } from './follow-file';

/** A writer as the worker is one: the file appears, grows in pieces, then is renamed into place. */
async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'omni-follow-'));
  const paths = { writing: join(root, '.file-x.incomplete', 'speech.mp3'), complete: join(root, 'file-x', 'speech.mp3') };
  await mkdir(dirname(paths.writing), { recursive: true });
  let finished = false;
  const settled = () => Promise.resolve(finished);
  const finish = async () => {
    await rename(dirname(paths.writing), dirname(paths.complete));
    finished = true;
  };
  return { paths, settled, finish };
}

describe('followGrowingFile', () => {
  it('yields what is written as it is written, through the rename, until the writer is done', async () => {
    const { paths, settled, finish } = await setup();
    const received: string[] = [];
    const reading = (async () => {
      for await (const chunk of followGrowingFile(paths, settled, new AbortController().signal)) {
        received.push(chunk.toString());
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 120));
    await writeFile(paths.writing, 'one ');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(received.join('')).toBe('one ');
    await appendFile(paths.writing, 'two ');
    await appendFile(paths.writing, 'three');
    await finish();
    await reading;
    expect(received.join('')).toBe('one two three');
  });

  it('reads a file that was already complete when it was asked for', async () => {
    const { paths, finish } = await setup();
    await writeFile(paths.writing, 'all of it');
    await finish();
    const chunks: Buffer[] = [];
    for await (const chunk of followGrowingFile(paths, () => Promise.resolve(true), new AbortController().signal)) {
      chunks.push(chunk);
    }
    expect(Buffer.concat(chunks).toString()).toBe('all of it');
  });

  it('fails when the writer finished without ever writing the file', async () => {
    const { paths } = await setup();
    const reading = followGrowingFile(paths, () => Promise.resolve(true), new AbortController().signal);
    await expect(reading.next()).rejects.toThrow(/never written/);
  });
});
