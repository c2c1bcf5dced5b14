/**
 * Whisper's languages in token order: language i is token `sot + 1 + i`. Models know the first
 * `numLanguages` of them (99; 100 from large-v3 on, which added Cantonese).
 */
export const WHISPER_LANGUAGES: ReadonlyArray<readonly [code: string, name: string]> = [
  ['en', 'english'], ['zh', 'chinese'], ['de', 'german'], ['es', 'spanish'], ['ru', 'russian'], ['ko', 'korean'],
  ['fr', 'french'], ['ja', 'japanese'], ['pt', 'portuguese'], ['tr', 'turkish'], ['pl', 'polish'], ['ca', 'catalan'],
  ['nl', 'dutch'], ['ar', 'arabic'], ['sv', 'swedish'], ['it', 'italian'], ['id', 'indonesian'], ['hi', 'hindi'],
  ['fi', 'finnish'], ['vi', 'vietnamese'], ['he', 'hebrew'], ['uk', 'ukrainian'], ['el', 'greek'], ['ms', 'malay'],
  ['cs', 'czech'], ['ro', 'romanian'], ['da', 'danish'], ['hu', 'hungarian'], ['ta', 'tamil'], ['no', 'norwegian'],
  ['th', 'thai'], ['ur', 'urdu'], ['hr', 'croatian'], ['bg', 'bulgarian'], ['lt', 'lithuanian'], ['la', 'latin'],
  ['mi', 'maori'], ['ml', 'malayalam'], ['cy', 'welsh'], ['sk', 'slovak'], ['te', 'telugu'], ['fa', 'persian'],
  ['lv', 'latvian'], ['bn', 'bengali'], ['sr', 'serbian'], ['az', 'azerbaijani'], ['sl', 'slovenian'], ['kn', 'kannada'],
  ['et', 'estonian'], ['mk', 'macedonian'], ['br', 'breton'], ['eu', 'basque'], ['is', 'icelandic'], ['hy', 'armenian'],
  ['ne', 'nepali'], ['mn', 'mongolian'], ['bs', 'bosnian'], ['kk', 'kazakh'], ['sq', 'albanian'], ['sw', 'swahili'],
  ['gl', 'galician'], ['mr', 'marathi'], ['pa', 'punjabi'], ['si', 'sinhala'], ['km', 'khmer'], ['sn', 'shona'],
  ['yo', 'yoruba'], ['so', 'somali'], ['af', 'afrikaans'], ['oc', 'occitan'], ['ka', 'georgian'], ['be', 'belarusian'],
  ['tg', 'tajik'], ['sd', 'sindhi'], ['gu', 'gujarati'], ['am', 'amharic'], ['yi', 'yiddish'], ['lo', 'lao'],
  ['uz', 'uzbek'], ['fo', 'faroese'], ['ht', 'haitian creole'], ['ps', 'pashto'], ['tk', 'turkmen'], ['nn', 'nynorsk'],
  ['mt', 'maltese'], ['sa', 'sanskrit'], ['lb', 'luxembourgish'], ['my', 'myanmar'], ['bo', 'tibetan'], ['tl', 'tagalog'],
  ['mg', 'malagasy'], ['as', 'assamese'], ['tt', 'tatar'], ['haw', 'hawaiian'], ['ln', 'lingala'], ['ha', 'hausa'],
  ['ba', 'bashkir'], ['jw', 'javanese'], ['su', 'sundanese'], ['yue', 'cantonese'],
];

/** Other names openai/whisper accepts for a language. */
const LANGUAGE_ALIASES: Readonly<Record<string, string>> = {
  burmese: 'my', valencian: 'ca', flemish: 'nl', haitian: 'ht', letzeburgesch: 'lb', pushto: 'ps',
  panjabi: 'pa', moldavian: 'ro', moldovan: 'ro', sinhalese: 'si', castilian: 'es', mandarin: 'zh',
};

/** The language code for a code, an English name or an alias, in any case (`en`, `English`, `castilian`); undefined when unknown. */
export function languageCode(language: string): string | undefined {
  const wanted = language.trim().toLowerCase();
  const found = WHISPER_LANGUAGES.find(([code, name]) => code === wanted || name === wanted);
  return found?.[0] ?? LANGUAGE_ALIASES[wanted];
}

export function languageName(code: string): string | undefined {
  return WHISPER_LANGUAGES.find(([known]) => known === code)?.[1];
}
