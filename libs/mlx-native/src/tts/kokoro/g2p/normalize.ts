/**
 * English text normalisation before phonemisation, with the rules of kokoro-js (hexgrad's JavaScript
 * port): quotes and brackets, CJK punctuation, whitespace, titles, numbers, years, times, money,
 * decimals, ranges, possessives and initialisms, so espeak-ng reads them as Kokoro was trained to hear.
 */

/** A clock time, a year (optionally plural) or a bare number, spoken the way a reader would. */
function spellNumber(match: string): string {
  if (match.includes('.')) {
    return match;
  }
  if (match.includes(':')) {
    const [hours, minutes] = match.split(':').map(Number);
    if (minutes === 0) {
      return `${hours} o'clock`;
    }
    return minutes < 10 ? `${hours} oh ${minutes}` : `${hours} ${minutes}`;
  }
  const year = Number.parseInt(match.slice(0, 4), 10);
  if (year < 1100 || year % 1000 < 10) {
    return match;
  }
  const century = match.slice(0, 2);
  const rest = Number.parseInt(match.slice(2, 4), 10);
  const plural = match.endsWith('s') ? 's' : '';
  if (year % 1000 >= 100 && year % 1000 <= 999) {
    if (rest === 0) {
      return `${century} hundred${plural}`;
    }
    if (rest < 10) {
      return `${century} oh ${rest}${plural}`;
    }
  }
  return `${century} ${rest}${plural}`;
}

/** "$5" → "5 dollars", "£1.50" → "1 pound and 50 pence". */
function spellMoney(match: string): string {
  const dollars = match[0] === '$';
  const unit = dollars ? 'dollar' : 'pound';
  const amount = match.slice(1);
  if (Number.isNaN(Number(amount))) {
    return `${amount} ${unit}s`;
  }
  if (!match.includes('.')) {
    return `${amount} ${unit}${amount === '1' ? '' : 's'}`;
  }
  const [whole, fraction] = amount.split('.');
  const cents = Number.parseInt(fraction.padEnd(2, '0'), 10);
  const coins = dollars ? (cents === 1 ? 'cent' : 'cents') : cents === 1 ? 'penny' : 'pence';
  return `${whole} ${unit}${whole === '1' ? '' : 's'} and ${cents} ${coins}`;
}

/** "12.34" → "12 point 3 4". */
function spellDecimal(match: string): string {
  const [whole, fraction] = match.split('.');
  return `${whole} point ${fraction.split('').join(' ')}`;
}

type Rule = [RegExp, string | ((match: string) => string)];

const RULES: readonly Rule[] = [
  // Quotes and brackets: curly quotes straightened, guillemets become quotes, parentheses guillemets.
  [/[‘’]/g, "'"],
  [/«/g, '“'],
  [/»/g, '”'],
  [/[“”]/g, '"'],
  [/\(/g, '«'],
  [/\)/g, '»'],
  // CJK punctuation to its Latin counterpart.
  [/、/g, ', '],
  [/。/g, '. '],
  [/！/g, '! '],
  [/，/g, ', '],
  [/：/g, ': '],
  [/；/g, '; '],
  [/？/g, '? '],
  // Whitespace other than spaces and newlines becomes a space; kokoro-js collapses the first run of spaces only.
  [/[^\S \n]/g, ' '],
  [/ {2,}/, ' '],
  [/(?<=\n) +(?=\n)/g, ''],
  // Titles.
  [/\bD[Rr]\.(?= [A-Z])/g, 'Doctor'],
  [/\b(?:Mr\.|MR\.(?= [A-Z]))/g, 'Mister'],
  [/\b(?:Ms\.|MS\.(?= [A-Z]))/g, 'Miss'],
  [/\b(?:Mrs\.|MRS\.(?= [A-Z]))/g, 'Mrs'],
  [/\betc\.(?! [A-Z])/gi, 'etc'],
  // "yeah" as Kokoro's lexicon spells it.
  [/\b(y)eah?\b/gi, "$1e'a"],
  // Numbers, money, decimals, ranges.
  [/\d*\.\d+|\b\d{4}s?\b|(?<!:)\b(?:[1-9]|1[0-2]):[0-5]\d\b(?!:)/g, spellNumber],
  [/(?<=\d),(?=\d)/g, ''],
  [/[$£]\d+(?:\.\d+)?(?: hundred| thousand| (?:[bm]|tr)illion)*\b|[$£]\d+\.\d\d?\b/gi, spellMoney],
  [/\d*\.\d+/g, spellDecimal],
  [/(?<=\d)-(?=\d)/g, ' to '],
  [/(?<=\d)S/g, ' S'],
  // Possessives after a capital consonant, and "X's".
  [/(?<=[BCDFGHJ-NP-TV-Z])'?s\b/g, "'S"],
  [/(?<=X')S\b/g, 's'],
  // Initialisms: "U.S.A. b" → "U-S-A- b", "A.B" → "A-B".
  [/(?:[A-Za-z]\.){2,} [a-z]/g, (match) => match.replace(/\./g, '-')],
  [/(?<=[A-Z])\.(?=[A-Z])/gi, '-'],
];

export function normalizeEnglish(text: string): string {
  let out = text;
  for (const [pattern, replacement] of RULES) {
    out = typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  }
  return out.trim();
}
