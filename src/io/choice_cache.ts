// The backend chooser's memory on disk (Node): a JSON file of choices by device, model and
// workload, in $XDG_CACHE_HOME/wavelet-gpt/backends.json, under the package's version (a new
// version's kernels are timed again). Written atomically; an unreadable or unwritable file only
// costs the timing again.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { packageInfo } from './package_files.js';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { writeFileAtomic } from './atomic.js';

/** The XDG base directory spec: an empty or relative XDG_CACHE_HOME is ignored (else an empty one writes into the working directory). */
export function choiceCachePath(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'wavelet-gpt', 'backends.json');
}

type Entries = Record<string, { backend: 'webgpu' | 'wasm' | 'js'; reason: string; timings: { backend: 'webgpu' | 'wasm' | 'js'; ms: number | null; note: string }[] }>;

/** The entries of the file; anything else in it (null, an array, a folder, damaged JSON) counts as empty and is replaced at the next write. */
function readEntries(path: string): Entries {
  try {
    const parsed: unknown = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Entries) : {};
  } catch {
    return {};
  }
}

/** An entry shaped as the chooser writes it (the chooser checks the backend's name); anything else is not used. */
function validEntry(entry: unknown): Entries[string] | undefined {
  const e = entry as Entries[string] | null;
  if (!e || typeof e !== 'object' || typeof e.backend !== 'string' || typeof e.reason !== 'string' || !Array.isArray(e.timings)) return undefined;
  return e;
}

function packageVersion(): string {
  try {
    return packageInfo().version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A cache for chooseBackend (backends/registry.ts) kept in `path`. */
export function fileChoiceCache(path = choiceCachePath()) {
  const version = packageVersion();
  const versioned = (key: string) => `${version} ${key}`;
  return {
    get: (key: string) => validEntry(readEntries(path)[versioned(key)]),
    set: (key: string, choice: Entries[string]) => {
      try {
        mkdirSync(dirname(path), { recursive: true });
        writeFileAtomic(path, JSON.stringify({ ...readEntries(path), [versioned(key)]: choice }, null, 1));
      } catch {
        // an unwritable cache only costs the timing next time
      }
    },
  };
}
