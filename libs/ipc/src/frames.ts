import type { Duplex } from 'node:stream';

/** The wire vocabulary of the API ⇄ worker channel. Every frame names the request it belongs to. */
export interface IpcErrorPayload {
  message: string;
  /** Machine-readable reason, carried to the OpenAI error envelope's `code`. */
  code: string;
  /** The HTTP status the API should answer with. */
  status: number;
  param?: string | null;
  type?: string;
  /** Numbers behind the message (a prompt's length, the context it exceeds), so each API surface can phrase it its own way. */
  facts?: Record<string, number>;
}

export type ClientFrame =
  | { kind: 'call'; id: number; method: string; params: unknown }
  | { kind: 'stream'; id: number; method: string; params: unknown; window: number }
  | { kind: 'credit'; id: number; amount: number }
  | { kind: 'cancel'; id: number };

export type ServerFrame =
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'chunk'; id: number; data: unknown }
  | { kind: 'error'; id: number; error: IpcErrorPayload };

const HEADER_BYTES = 4;
/** A frame above this is a protocol fault, not a message: it stops a corrupt length from allocating gigabytes. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export function encodeFrame(frame: ClientFrame | ServerFrame): Buffer {
  const body = Buffer.from(JSON.stringify(frame), 'utf8');
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, HEADER_BYTES);
  return out;
}

/** Reassembles length-prefixed JSON frames from a byte stream that may split or merge them arbitrarily. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): unknown[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: unknown[] = [];
    while (this.pending.length >= HEADER_BYTES) {
      const length = this.pending.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) {
        throw new Error(`IPC frame of ${length} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
      }
      if (this.pending.length < HEADER_BYTES + length) {
        break;
      }
      frames.push(JSON.parse(this.pending.subarray(HEADER_BYTES, HEADER_BYTES + length).toString('utf8')));
      this.pending = this.pending.subarray(HEADER_BYTES + length);
    }
    return frames;
  }
}

/** Feeds every frame arriving on `socket` to `onFrame`; a corrupt stream closes the socket (its requests then fail as closed). */
export function readFrames(socket: Duplex, onFrame: (frame: unknown) => void): void {
  const decoder = new FrameDecoder();
  socket.on('data', (chunk: Buffer) => {
    let frames: unknown[];
    try {
      frames = decoder.push(chunk);
    } catch {
      socket.destroy();
      return;
    }
    frames.forEach(onFrame);
  });
}
