import { request } from 'node:http';

/**
 * Announces a body of `declaredBytes` in Content-Length and sends only the headers. A server that
 * enforces a body limit must answer from the header alone (413) without waiting for the bytes, and
 * the test does not race the server closing the socket under a half-written body.
 */
export function postDeclaringLength(url: string, declaredBytes: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': declaredBytes } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        req.destroy();
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}
