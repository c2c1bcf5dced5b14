import { TokenizerLoadError } from './errors';
import { pieceDecodingFromConfig, pieceToBytes } from './token-bytes';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

describe('pieceDecodingFromConfig', () => {
  test('a Metaspace decoder replaces ▁ and strips the prefix space it adds', () => {
    const decoding = pieceDecodingFromConfig({ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first' });
    expect(decoding.stripLeading).toEqual({ char: ' ', count: 1 });
    expect(text(pieceToBytes('\u2581Hello\u2581you', false, decoding))).toBe(' Hello you');
    expect(pieceDecodingFromConfig({ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'never' }).stripLeading).toBeNull();
  });

  test('no decoder means the pieces are the text', () => {
    expect(text(pieceToBytes('abc', false, pieceDecodingFromConfig(null)))).toBe('abc');
  });

  test('byte-level pieces map back through the GPT-2 byte table; added tokens stay literal', () => {
    const decoding = pieceDecodingFromConfig({ type: 'ByteLevel' });
    expect([...pieceToBytes('\u0120\u010a', false, decoding)]).toEqual([0x20, 0x0a]);
    expect(text(pieceToBytes('<|im_end|>', true, decoding))).toBe('<|im_end|>');
  });

  test.each([
    [{ type: 'WordPiece' }, /'WordPiece' is not supported/],
    [{ type: 'Sequence', decoders: [{ type: 'Strip', content: ' ', start: 0, stop: 1 }] }, /stop > 0/],
    [{ type: 'Replace', pattern: { Regex: '\\s' }, content: ' ' }, /regex/],
  ])('rejects a decoder it cannot stream: %j', (config, message) => {
    expect(() => pieceDecodingFromConfig(config)).toThrow(TokenizerLoadError);
    expect(() => pieceDecodingFromConfig(config)).toThrow(message);
  });
});
