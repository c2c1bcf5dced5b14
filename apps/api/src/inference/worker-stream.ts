/** A worker's answer as it arrives: chunks, then one result. `IpcStream` is one. */
export interface WorkerStream<C, R> extends AsyncIterable<C> {
  readonly result: Promise<R>;
}

/**
 * Waits for the first chunk before handing the stream on, so that a request the worker refuses
 * (context too long, a schema it cannot enforce) fails here, while the surface can still answer
 * with a 4xx, rather than inside a response that has already started. Leaving the returned stream
 * early still cancels the worker's request.
 */
export async function firstChunkArrived<C, R>(stream: WorkerStream<C, R>): Promise<WorkerStream<C, R>> {
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  async function* rest(): AsyncGenerator<C, void, undefined> {
    try {
      for (let step = first; step.done !== true; step = await iterator.next()) {
        yield step.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
  return { result: stream.result, [Symbol.asyncIterator]: rest };
}
