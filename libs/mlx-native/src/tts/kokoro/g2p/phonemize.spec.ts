import { EspeakNg, PhonemizerUnavailableError } from './espeak';
import { chunkPhonemes, MAX_CHUNK_PHONEMES } from './chunks';
import { KokoroPhonemizer, languageOfVoice } from './phonemize';

jest.setTimeout(60_000);

const phonemizer = new KokoroPhonemizer();

// Expected phonemes from kokoro-js's own test suite (tests/phonemize.test.js), which ran espeak-ng as
// WASM; this pipeline runs the system espeak-ng with the same normalisation and fix-ups.
describe('KokoroPhonemizer (American English)', () => {
  it.each([
    ['‘Hello’', 'həlˈoʊ'],
    ['‘Test’ and ‘Example’', 'tˈɛst ænd ɛɡzˈæmpəl'],
    ['«Bonjour»', '"bɔːnʒˈʊɹ"'],
    ['(Hello)', '«həlˈoʊ»'],
    ['Hello World', 'həlˈoʊ wˈɜːld'],
    ['Hello   World', 'həlˈoʊ wˈɜːld'],
    ['Dr. Smith', 'dˈɑːktɚ smˈɪθ'],
    ['Mr. Smith', 'mˈɪstɚ smˈɪθ'],
    ['Mrs. Johnson', 'mˈɪsɪz dʒˈɑːnsən'],
    ['Apples, oranges, etc.', 'ˈæpəlz, ˈɔɹɪndʒᵻz, ɛtsˈɛtɹə'],
    ['Apples, etc. Pears.', 'ˈæpəlz, ɛtsˈɛtɹə. pˈɛɹz.'],
    ['yeah', 'jˈɛə'],
    ['1990', 'nˈaɪntiːn nˈaɪndi'],
    ['12:34', 'twˈɛlv θˈɜːɾi fˈoːɹ'],
    ['1,000', 'wˈʌn θˈaʊzənd'],
    ['$100', 'wˈʌn hˈʌndɹɪd dˈɑːlɚz'],
    ['£1.50', 'wˈʌn pˈaʊnd ænd fˈɪfti pˈɛns'],
    ['12.34', 'twˈɛlv pˈɔɪnt θɹˈiː fˈoːɹ'],
    ['10-20', 'tˈɛn tə twˈɛnti'],
    ["Cat's tail", 'kˈæts tˈeɪl'],
    ["X's mark", 'ˈɛksᵻz mˈɑːɹk'],
    ['U.S.A.', 'jˈuːˈɛsˈeɪ.'],
  ])('%s → %s', async (text, expected) => {
    expect(await phonemizer.phonemize(text, 'a')).toBe(expected);
  });
});

describe('KokoroPhonemizer (British English)', () => {
  it.each([
    ['‘Hello’', 'həlˈəʊ'],
    ['Dr. Smith', 'dˈɒktə smˈɪθ'],
    ['1990', 'nˈaɪntiːn nˈaɪnti'],
    ['£1.50', 'wˈɒn pˈaʊnd and fˈɪfti pˈɛns'],
  ])('%s → %s', async (text, expected) => {
    expect(await phonemizer.phonemize(text, 'b')).toBe(expected);
  });
});

describe('EspeakNg', () => {
  it('phonemises many texts in one process and falls back per text when espeak-ng splits a line', async () => {
    const espeak = new EspeakNg();
    const long = Array(300).fill('word').join(' ');
    const [a, empty, b, c] = await espeak.phonemize(['hello there', '   ', long, 'my friend'], 'en-us');
    expect([a, empty, c]).toEqual(['həlˈoʊ ðˈɛɹ', '', 'maɪ fɹˈɛnd']);
    expect(b.split(' ').filter((w) => w === 'wˈɜːd')).toHaveLength(300);
  });

  it('says what to install when espeak-ng is missing', async () => {
    await expect(new EspeakNg('espeak-ng-not-here').phonemize(['hi'], 'en-us')).rejects.toThrow(PhonemizerUnavailableError);
    await expect(new EspeakNg('espeak-ng-not-here').phonemize(['hi'], 'en-us')).rejects.toThrow(/apt-get install espeak-ng/);
  });
});

describe('languageOfVoice', () => {
  it('reads the language from the first letter, as Kokoro names voices', () => {
    expect(['af_heart', 'bm_fable', 'ef_dora', 'zf_xiaobei', 'xx_unknown'].map(languageOfVoice)).toEqual(['a', 'b', 'e', 'z', undefined]);
  });
});

describe('chunkPhonemes', () => {
  it('keeps a paragraph that fits whole, untouched', () => {
    const text = 'həlˈoʊ wˈɜːld. ðɪs ɪz ɐ tˈɛst';
    expect(chunkPhonemes(text)).toEqual([text]);
  });

  it('cuts at the last sentence end that fits, then clause marks, then spaces', () => {
    const sentence = 'ɐ'.repeat(8) + '. ';
    const chunks = chunkPhonemes(sentence.repeat(100), 40);
    expect(chunks.every((chunk) => [...chunk].length <= 40)).toBe(true);
    expect(chunks.every((chunk) => chunk.endsWith('.'))).toBe(true);
    expect(chunks.join(' ')).toBe(sentence.repeat(100).trim());
    const commas = chunkPhonemes(`${'ɐb, '.repeat(30)}ɐ`, 20);
    expect(commas.every((chunk) => [...chunk].length <= 20 && (chunk.endsWith(',') || chunk === commas.at(-1)))).toBe(true);
    const words = chunkPhonemes(Array(50).fill('wˈɜːd').join(' '), MAX_CHUNK_PHONEMES / 10);
    expect(words.every((chunk) => [...chunk].length <= 51 && !chunk.startsWith(' ') && !chunk.endsWith(' '))).toBe(true);
    expect(words.join(' ')).toBe(Array(50).fill('wˈɜːd').join(' '));
  });

  it('cuts a run with no space or mark at the limit', () => {
    expect(chunkPhonemes('ɐ'.repeat(25), 10)).toEqual(['ɐ'.repeat(10), 'ɐ'.repeat(10), 'ɐ'.repeat(5)]);
  });
});
