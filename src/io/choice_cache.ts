// The backend chooser's memory on disk (Node): a JSON file of choices by device, model and
// workload, in $XDG_CACHE_HOME/wavelet-gpt/backends.json, under the package's version (a new
// version's kernels are timed again). Written atomically; an unreadable or unwritable file only
// costs the timing again.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from './atomic.js';

export function choiceCachePath(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'wavelet-gpt', 'backends.json');
}

type Entries = Record<string, { backend: 'webgpu' | 'wasm' | 'js'; reason: string; timings: { backend: 'webgpu' | 'wasm' | 'js'; ms: number | null; note: string }[] }>;

function readEntries(path: string): Entries {
  try {
    return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
  } catch {
    return {};
  }
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** A cache for chooseBackend (backends/registry.ts) kept in `path`. */
export function fileChoiceCache(path = choiceCachePath()) {
  const version = packageVersion();
  const versioned = (key: string) => `${version} ${key}`;
  return {
    get: (key: string) => readEntries(path)[versioned(key)],
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
