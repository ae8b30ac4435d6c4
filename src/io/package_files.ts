// The package's own files, read where it is installed (Node): its name and version (package.json),
// the commit its build came from (dist/build-info.json, written by scripts/build-info.mjs) and the
// JSON files it ships (the bench report's schema). Paths are from the package's root, two folders
// above this file in src/ and in dist/ alike.

import { readFileSync } from 'node:fs';

const ROOT = new URL('../../', import.meta.url);

/** A JSON file of the package, by its path from the package's root. */
export function readPackageJson<T>(path: string): T {
  return JSON.parse(readFileSync(new URL(path, ROOT), 'utf8')) as T;
}

export interface PackageInfo {
  name: string;
  version: string | null;
  /** The commit the package was built from ('+dirty' when the tree had changes), where known. */
  commit: string | null;
}

export function packageInfo(): PackageInfo {
  const { name, version } = readPackageJson<{ name: string; version: string }>('package.json');
  let commit: string | null = null;
  try {
    commit = readPackageJson<{ commit: string | null }>('dist/build-info.json').commit;
  } catch {
    commit = null; // not built yet
  }
  return { name, version, commit };
}
