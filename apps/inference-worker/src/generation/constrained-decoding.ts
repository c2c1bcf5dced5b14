import { core as mx } from '@frost-beta/mlx';
import type { LogitsProcessor, ModelTokenizer } from '@mlx-omni/mlx-native';
import type { JsonConstraint, TokenMask, TokenVocabulary } from '@mlx-omni/structured-output';

const vocabularies = new WeakMap<ModelTokenizer, TokenVocabulary>();

/**
 * The tokenizer seen as the vocabulary a JSON grammar walks, cached per tokenizer because the
 * grammar indexes it once (a trie over every token's text). `eosTokenIds`: the model's full list.
 */
export function vocabularyOf(tokenizer: ModelTokenizer, eosTokenIds: readonly number[]): TokenVocabulary {
  let vocabulary = vocabularies.get(tokenizer);
  if (vocabulary === undefined) {
    vocabulary = {
      size: tokenizer.vocabSize,
      // Special tokens spell no JSON; '' keeps them out of every mask but EOS's.
      tokenText: (id: number) => (tokenizer.isSpecialToken(id) ? '' : tokenizer.tokenText(id)),
      // Bytes let the grammar use tokens that hold part of a multi-byte character inside strings.
      tokenBytes: (id: number) => (tokenizer.isSpecialToken(id) ? new Uint8Array(0) : tokenizer.tokenBytes(id)),
      eosTokenIds: [...new Set([...tokenizer.eosTokenIds, ...eosTokenIds])],
    };
    vocabularies.set(tokenizer, vocabulary);
  }
  return vocabulary;
}

const BIT_VALUES = mx.array(Array.from({ length: 16 }, (_, bit) => 2 ** bit), mx.int32);

/**
 * Expands a token bitset into an additive logits mask (0 allowed, -Infinity not) on the device.
 * The binding takes no typed arrays and its rightShift crashes, so the bitset crosses as 16-bit
 * halves (a few thousand numbers instead of a vocabulary-sized array) and is unpacked with
 * integer division: about 7 ms for a 152k vocabulary on these CPUs, against 21 ms for the array.
 */
export function logitsMaskFromBitset(mask: TokenMask, size: number): mx.array {
  const halves = new Array<number>(mask.length * 2);
  for (let word = 0; word < mask.length; word++) {
    halves[2 * word] = mask[word] & 0xffff;
    halves[2 * word + 1] = mask[word] >>> 16;
  }
  const bits = mx.remainder(mx.floorDivide(mx.expandDims(mx.array(halves, mx.int32), 1), BIT_VALUES), mx.array(2, mx.int32));
  const allowed = mx.take(mx.reshape(bits, [-1]), mx.arange(size, mx.int32));
  return mx.where(mx.greater(allowed, mx.array(0, mx.int32)), mx.array(0, mx.float32), mx.array(-Infinity, mx.float32));
}

/**
 * Masks each step's logits to the tokens that keep the output a prefix of a valid JSON value,
 * then advances the grammar by the token that was sampled (the last id of `generated`).
 */
export function jsonConstraintProcessor(constraint: JsonConstraint): LogitsProcessor {
  let accepted = 0;
  return (generated, logits) => {
    while (accepted < generated.length) {
      constraint.accept(generated[accepted]);
      accepted += 1;
    }
    // The generator may hand over fewer logits than the model has (ids past the tokenizer's vocabulary are never sampled).
    return mx.add(logits, logitsMaskFromBitset(constraint.allowedTokens(), logits.shape[logits.shape.length - 1]));
  };
}
