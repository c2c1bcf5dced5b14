/** Phonemes per forward pass: 512 positions less the two padding ids (hexgrad's KPipeline). */
export const MAX_CHUNK_PHONEMES = 510;

/** Where to prefer cutting, best first: sentence ends, then clause marks, then commas and dashes (hexgrad's waterfall). */
const CUT_CLASSES = ['!.?…', ':;', ',—'];
/** Closing marks that stay with the punctuation before them. */
const CLOSERS = ')”"»';

/**
 * Splits a paragraph's phonemes into chunks of at most `max` phonemes: at the last sentence end that
 * fits, else the last clause mark, else the last comma or dash, else the last space, else anywhere.
 * A paragraph that fits is returned whole, untouched but for surrounding spaces.
 */
export function chunkPhonemes(phonemes: string, max = MAX_CHUNK_PHONEMES): string[] {
  const chunks: string[] = [];
  let rest = [...phonemes.trim()];
  while (rest.length > max) {
    let cut = -1;
    for (const marks of CUT_CLASSES) {
      const at = rest.slice(0, max).findLastIndex((symbol) => marks.includes(symbol));
      if (at >= 0) {
        cut = at + 1;
        while (cut < max && cut < rest.length && CLOSERS.includes(rest[cut])) {
          cut++;
        }
        break;
      }
    }
    if (cut <= 0) {
      const space = rest.slice(0, max + 1).lastIndexOf(' ');
      cut = space > 0 ? space : max;
    }
    const chunk = rest.slice(0, cut).join('').trim();
    if (chunk !== '') {
      chunks.push(chunk);
    }
    rest = [...rest.slice(cut).join('').trim()];
  }
  if (rest.length > 0) {
    chunks.push(rest.join(''));
  }
  return chunks;
}
