import { Duplex } from 'node:stream';

/**
 * Two connected ends of an in-memory byte stream, like a socket pair: what one end writes the
 * other reads, and destroying either closes both. It carries the same frames as a Unix socket,
 * for a worker running in the API's own process (the in-process test server). The protocol's
 * credit window, not this stream, bounds what is in flight.
 */
export function memoryChannel(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const end = (peer: () => Duplex): Duplex =>
    new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _encoding, callback) => {
        peer().push(chunk);
        callback();
      },
      final: (callback) => {
        peer().push(null);
        callback();
      },
      destroy: (error, callback) => {
        if (!peer().destroyed) {
          peer().destroy();
        }
        callback(error);
      },
    });
  ends.push(
    end(() => ends[1]),
    end(() => ends[0]),
  );
  return [ends[0], ends[1]];
}
