// What a build is: the package's version and the commit it came from ('+dirty' when tracked files
// had changes; null outside a git checkout). Bench reports carry it: the CLI reads
// dist/build-info.json, written when this runs as a script; the bench bundles get it inlined
// (scripts/build-bundles.mjs).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function buildInfo() {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
  let commit = null;
  try {
    const git = (...args) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    commit = git('rev-parse', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '+dirty' : '');
  } catch {
    commit = null;
  }
  return { version, commit };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync('dist/build-info.json', `${JSON.stringify({ commit: buildInfo().commit }, null, 2)}\n`);
}
