import { EchoPanelError, checkLanguage } from '@echopanel/core';
import type { EngineHost } from './engine-host.js';

/** Longest accepted `prompt` (both the upload form and the stream's start message). */
export const MAX_PROMPT_CHARS = 2000;

/** Longest accepted `language` value: codes are 2-3 letters; anything longer is refused before it is looked at. */
export const MAX_LANGUAGE_CHARS = 16;

/** An optional text field: undefined when absent or empty, INVALID_REQUEST when longer than `maxChars`. */
export function textField(name: string, value: string | undefined, maxChars: number): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length > maxChars) {
    throw new EchoPanelError('INVALID_REQUEST', `${name} is ${value.length} characters long; at most ${maxChars} are accepted`, { details: { param: name } });
  }
  return value;
}

/**
 * The request's `language` (upload field or stream start message), checked against the loaded model: undefined
 * when absent (the config's `asr.language` applies), else the code; INVALID_REQUEST / UNSUPPORTED_LANGUAGE otherwise.
 */
export function requestLanguage(value: string | undefined, engine: EngineHost): string | undefined {
  const v = textField('language', value, MAX_LANGUAGE_CHARS);
  return v === undefined ? undefined : checkLanguage(v, engine.manager.capabilities.languages, engine.modelName);
}
