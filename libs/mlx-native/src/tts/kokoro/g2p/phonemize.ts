import { EspeakNg } from './espeak';
import { normalizeEnglish } from './normalize';

/**
 * Kokoro voices are named `<language><gender>_<name>`; the first letter picks the G2P language
 * (hexgrad's KPipeline lang codes), here the espeak-ng voice that phonemises it.
 */
const ESPEAK_VOICES: Readonly<Record<string, string>> = {
  a: 'en-us',
  b: 'en',
  e: 'es',
  f: 'fr-fr',
  h: 'hi',
  i: 'it',
  p: 'pt-br',
  j: 'ja',
  z: 'cmn',
};

export type KokoroLanguage = keyof typeof ESPEAK_VOICES;

/** The language of a voice, from its first letter; undefined for a letter Kokoro's G2P does not know. */
export function languageOfVoice(voice: string): KokoroLanguage | undefined {
  const letter = voice.charAt(0);
  return Object.hasOwn(ESPEAK_VOICES, letter) ? letter : undefined;
}

export function isEnglish(language: KokoroLanguage): boolean {
  return language === 'a' || language === 'b';
}

const PUNCTUATION = ';:,.!?¡¿—…"«»“”(){}[]';
const escaped = PUNCTUATION.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Runs of punctuation (with their surrounding spaces) are kept as they are; only the text between goes to espeak-ng. */
const PUNCTUATION_RUN = new RegExp(`(?:\\s*[${escaped}]+\\s*)+`, 'g');

/** Fix-ups kokoro-js applies to espeak-ng's IPA, so it uses Kokoro's symbol set. */
const IPA_FIXES: ReadonlyArray<[RegExp, string]> = [
  // "Kokoro" as the Japanese word (https://en.wiktionary.org/wiki/kokoro#English).
  [/kəkˈoːɹoʊ/g, 'kˈoʊkəɹoʊ'],
  [/kəkˈɔːɹəʊ/g, 'kˈəʊkəɹəʊ'],
  [/ʲ/g, 'j'],
  [/r/g, 'ɹ'],
  [/x/g, 'k'],
  [/ɬ/g, 'l'],
  [/(?<=[a-zɹː])(?=hˈʌndɹɪd)/g, ' '],
  [/ z(?=[;:,.!?¡¿—…"«»“” ]|$)/g, 'z'],
];

/** Text to Kokoro phonemes with kokoro-js's pipeline: normalise (English), phonemise around punctuation, fix up the IPA. */
export class KokoroPhonemizer {
  constructor(private readonly espeak = new EspeakNg()) {}

  async phonemize(text: string, language: KokoroLanguage): Promise<string> {
    const normalized = isEnglish(language) ? normalizeEnglish(text) : text.replace(/\s+/g, ' ').trim();
    const sections: Array<{ text: string; punctuation: boolean }> = [];
    let previous = 0;
    for (const match of normalized.matchAll(PUNCTUATION_RUN)) {
      if (match.index > previous) {
        sections.push({ text: normalized.slice(previous, match.index), punctuation: false });
      }
      if (match[0].length > 0) {
        sections.push({ text: match[0], punctuation: true });
      }
      previous = match.index + match[0].length;
    }
    if (previous < normalized.length) {
      sections.push({ text: normalized.slice(previous), punctuation: false });
    }
    const words = sections.filter((s) => !s.punctuation).map((s) => s.text);
    const phonemized = await this.espeak.phonemize(words, ESPEAK_VOICES[language]);
    let next = 0;
    let ipa = sections.map((s) => (s.punctuation ? s.text : phonemized[next++])).join('');
    for (const [pattern, replacement] of IPA_FIXES) {
      ipa = ipa.replace(pattern, replacement);
    }
    if (language === 'a') {
      ipa = ipa.replace(/(?<=nˈaɪn)ti(?!ː)/g, 'di');
    }
    return ipa.trim();
  }
}
