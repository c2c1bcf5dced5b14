/**
 * T5's relative-position buckets (Raffel et al. 2020, transformers' `_relative_position_bucket`): the
 * offset key − query goes to one of `numBuckets` buckets, half per direction when bidirectional; small
 * offsets get a bucket each, larger ones share logarithmically wider buckets up to `maxDistance`.
 * Returned as [queryLength · keyLength] bucket ids, computed on the host in integer arithmetic so that
 * float rounding cannot move an offset across a bucket boundary.
 */
export function relativePositionBuckets(
  queryLength: number,
  keyLength: number,
  { bidirectional, numBuckets, maxDistance }: { bidirectional: boolean; numBuckets: number; maxDistance: number },
): Int32Array {
  const buckets = new Int32Array(queryLength * keyLength);
  const perDirection = bidirectional ? numBuckets / 2 : numBuckets;
  const maxExact = Math.floor(perDirection / 2);
  for (let q = 0; q < queryLength; q++) {
    for (let k = 0; k < keyLength; k++) {
      let offset = k - q;
      let bucket = 0;
      if (bidirectional) {
        bucket = offset > 0 ? perDirection : 0;
        offset = Math.abs(offset);
      } else {
        offset = Math.max(-offset, 0);
      }
      if (offset < maxExact) {
        bucket += offset;
      } else {
        // Math.fround: transformers computes this in float32, and the floor must land where it lands there.
        const scaled = Math.fround(Math.fround(Math.log(Math.fround(offset / maxExact))) / Math.fround(Math.log(maxDistance / maxExact)));
        const large = maxExact + Math.floor(Math.fround(scaled * (perDirection - maxExact)));
        bucket += Math.min(large, perDirection - 1);
      }
      buckets[q * keyLength + k] = bucket;
    }
  }
  return buckets;
}
