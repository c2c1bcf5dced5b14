import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors/api-error';

/** A multipart request's fields and its one file, spooled to disk. */
export interface AudioUpload {
  /** Text fields; repeated names (`timestamp_granularities[]`) become lists, and a trailing `[]` is dropped. */
  fields: Record<string, string | string[]>;
  /** The spooled file, or undefined when the request carried none. */
  file: { path: string; bytes: number; filename: string } | undefined;
  /** Deletes the spooled file; safe to call more than once. */
  discard(): Promise<void>;
}

const isFastifyCode = (error: unknown, code: string): boolean => (error as { code?: unknown }).code === code;

/**
 * Reads a multipart/form-data upload, streaming its file (in `fileField`: OpenAI's transcription routes
 * say `file`, its voice route `audio_sample`) into `dir` under a fresh name so the worker can read it by
 * path (audio never travels over the IPC channel). A file over `maxBytes` is cut off and answered 413
 * naming the setting; anything spooled is deleted when reading fails.
 */
export async function readAudioUpload(request: FastifyRequest, dir: string, maxBytes: number, fileField = 'file'): Promise<AudioUpload> {
  if (!request.isMultipart()) {
    throw new ApiError(400, `Send the audio as multipart/form-data, with the file in the "${fileField}" field`, { code: 'invalid_request', param: fileField });
  }
  await mkdir(dir, { recursive: true });
  const fields: Record<string, string | string[]> = {};
  let file: AudioUpload['file'];
  const spooled: string[] = [];
  const discard = async (): Promise<void> => {
    await Promise.all(spooled.map((path) => rm(path, { force: true })));
  };
  try {
    for await (const part of request.parts({ limits: { fileSize: maxBytes, files: 1, fields: 50, fieldSize: 1024 * 1024 } })) {
      if (part.type === 'file') {
        if (part.fieldname !== fileField || file !== undefined) {
          part.file.resume();
          throw new ApiError(400, `Unexpected file field "${part.fieldname}"; send one audio file in "${fileField}"`, { code: 'invalid_request', param: part.fieldname });
        }
        const path = join(dir, `${randomUUID()}.upload`);
        spooled.push(path);
        await pipeline(part.file, createWriteStream(path));
        file = { path, bytes: (await stat(path)).size, filename: part.filename };
        continue;
      }
      const name = part.fieldname.endsWith('[]') ? part.fieldname.slice(0, -2) : part.fieldname;
      const value = String(part.value);
      const previous = fields[name];
      fields[name] = previous === undefined ? (part.fieldname.endsWith('[]') ? [value] : value) : [...(Array.isArray(previous) ? previous : [previous]), value];
    }
  } catch (error) {
    await discard();
    if (isFastifyCode(error, 'FST_REQ_FILE_TOO_LARGE')) {
      throw new ApiError(413, `The audio file is larger than ${maxBytes} bytes, the limit set by MLX_OMNI_AUDIO_MAX_BYTES`, { code: 'file_too_large', param: fileField });
    }
    if (['FST_FILES_LIMIT', 'FST_FIELDS_LIMIT', 'FST_PARTS_LIMIT', 'FST_PROTO_VIOLATION'].some((code) => isFastifyCode(error, code))) {
      throw new ApiError(400, 'The form has unexpected parts; send one file and the documented fields', { code: 'invalid_request' });
    }
    if (isFastifyCode(error, 'FST_INVALID_MULTIPART_CONTENT_TYPE') || (error instanceof Error && /multipart|boundary/i.test(error.message))) {
      throw new ApiError(400, `The multipart body could not be read: ${error instanceof Error ? error.message : 'malformed'}`, { code: 'invalid_request', param: fileField });
    }
    throw error;
  }
  return { fields, file, discard };
}
