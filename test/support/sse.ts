/** One `data:` event of a server-sent event stream: `[DONE]`, or the parsed JSON (a chunk or an error envelope). */
export type SseEvent = '[DONE]' | Record<string, any>;

/** Reads a fetch response's `text/event-stream` body event by event, as it arrives. */
export async function* readSse(response: Response): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const bytes of response.body!) {
    buffered += decoder.decode(bytes as Uint8Array, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      yield data === '[DONE]' ? data : JSON.parse(data);
    }
  }
}

/** POSTs a JSON body and returns the raw response, for streaming routes read with `readSse`. */
export function postJson(baseUrl: string, path: string, body: unknown, init: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(`${baseUrl}${path}`, { ...init, method: 'POST', headers: { 'content-type': 'application/json', ...init.headers }, body: JSON.stringify(body) });
}

/** A whole named-event stream (Anthropic's, the Responses API's) read at once: each frame's `event:` line and parsed data. */
export async function readNamedEvents(response: Response): Promise<Array<{ event: string | undefined; data: any }>> {
  const frames = (await response.text()).split('\n\n').filter((frame) => frame.trim() !== '');
  return frames.map((frame) => {
    const lines = frame.split('\n');
    return { event: lines.find((line) => line.startsWith('event: '))?.slice(7), data: JSON.parse(lines.find((line) => line.startsWith('data: '))!.slice(6)) };
  });
}
