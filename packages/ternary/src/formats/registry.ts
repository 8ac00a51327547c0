import { TernaryFormatError } from '../errors.js';
import type { TernaryBlockFormat } from './format.js';
import { i2_s } from './i2_s.js';
import { t158 } from './t158.js';
import { tq1_0 } from './tq1_0.js';
import { tq2_0 } from './tq2_0.js';

const formats = { t158, tq2_0, tq1_0, i2_s };

/** A ternary format's name: a key of the registry, so adding a row adds the name. */
export type TernaryFormatName = keyof typeof formats;

/** Every ternary block format, keyed by name. Adding a format means adding a row here. */
export const TERNARY_FORMATS: Readonly<Record<TernaryFormatName, TernaryBlockFormat>> = Object.freeze(formats);

export function isTernaryFormatName(name: string): name is TernaryFormatName {
  return Object.hasOwn(TERNARY_FORMATS, name);
}

/** The format called `name`; a {@link TernaryFormatError} listing the known names otherwise. */
export function getTernaryFormat(name: string): TernaryBlockFormat {
  if (!isTernaryFormatName(name)) throw new TernaryFormatError(name, Object.keys(TERNARY_FORMATS));
  return TERNARY_FORMATS[name];
}
