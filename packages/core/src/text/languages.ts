import { EchoPanelError } from '@echopanel/plugin-api';

/** Whisper's language codes (ISO 639-1, plus `haw`, `jw`, `yue`): what a multilingual model can be asked for. */
export const WHISPER_LANGUAGES: readonly string[] = Object.freeze([
  'en', 'zh', 'de', 'es', 'ru', 'ko', 'fr', 'ja', 'pt', 'tr', 'pl', 'ca', 'nl', 'ar', 'sv', 'it', 'id', 'hi', 'fi', 'vi',
  'he', 'uk', 'el', 'ms', 'cs', 'ro', 'da', 'hu', 'ta', 'no', 'th', 'ur', 'hr', 'bg', 'lt', 'la', 'mi', 'ml', 'cy', 'sk',
  'te', 'fa', 'lv', 'bn', 'sr', 'az', 'sl', 'kn', 'et', 'mk', 'br', 'eu', 'is', 'hy', 'ne', 'mn', 'bs', 'kk', 'sq', 'sw',
  'gl', 'mr', 'pa', 'si', 'km', 'sn', 'yo', 'so', 'af', 'oc', 'ka', 'be', 'tg', 'sd', 'gu', 'am', 'yi', 'lo', 'uz', 'fo',
  'ht', 'ps', 'tk', 'nn', 'mt', 'sa', 'lb', 'my', 'bo', 'tl', 'mg', 'as', 'tt', 'haw', 'ln', 'ha', 'ba', 'jw', 'su', 'yue',
]);

/**
 * A requested language checked against what the model speaks (`ProviderCapabilities.languages`): the code,
 * lower-cased. An unknown code is INVALID_REQUEST listing the valid ones; a known one the model cannot speak
 * (`fr` on an English-only model) is UNSUPPORTED_LANGUAGE saying which it can.
 */
export function checkLanguage(code: string, speaks: readonly string[] | 'multilingual', model: string): string {
  const lang = code.trim().toLowerCase();
  const known = speaks === 'multilingual' ? WHISPER_LANGUAGES : [...new Set([...WHISPER_LANGUAGES, ...speaks])];
  if (!known.includes(lang)) {
    throw new EchoPanelError('INVALID_REQUEST', `language ${JSON.stringify(code.slice(0, 40))} is not a language code; use one of ${known.join(', ')}`, {
      details: { param: 'language' },
    });
  }
  if (speaks !== 'multilingual' && !speaks.includes(lang)) {
    throw new EchoPanelError(
      'UNSUPPORTED_LANGUAGE',
      `the loaded model ${model} does not speak "${lang}"; it speaks ${speaks.join(', ')}` +
        (speaks.length === 1 && speaks[0] === 'en' ? ' (an English-only ".en" model: load a multilingual one, e.g. "tiny" instead of "tiny.en")' : ''),
      { details: { param: 'language' } },
    );
  }
  return lang;
}
