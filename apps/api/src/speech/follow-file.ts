import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** How often a file that stopped growing is checked again. */
const POLL_MS = 50;
const READ_BYTES = 64 * 1024;

async function openWhenThere(paths: { writing: string; complete: string }, settled: () => Promise<boolean>): Promise<FileHandle> {
  for (;;) {
    for (const path of [paths.writing, paths.complete]) {
      try {
        return await open(path, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw error;
        }
      }
    }
    if (await settled()) {
      throw new Error(`The file ${paths.complete} was never written`);
    }
    await sleep(POLL_MS);
  }
}

/**
 * The bytes of a file another process is writing, as they arrive, until `settled()` says the writer has
 * finished (the rest is then read to the end). The file is opened where it is being written; a
 * descriptor survives the rename that completes it.
 */
export async function* followGrowingFile(
  paths: { writing: string; complete: string },
  settled: () => Promise<boolean>,
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  const handle = await openWhenThere(paths, settled);
  try {
    const buffer = Buffer.alloc(READ_BYTES);
    let offset = 0;
    let writerDone = false;
    while (!signal.aborted) {
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, offset);
      if (bytesRead > 0) {
        offset += bytesRead;
        yield Buffer.from(buffer.subarray(0, bytesRead));
        continue;
      }
      // Nothing new: finished only if the writer was already done before this read found the end.
      if (writerDone) {
        return;
      }
      writerDone = await settled();
      if (!writerDone) {
        await sleep(POLL_MS);
      }
    }
  } finally {
    await handle.close();
  }
}
