// Stamps dist/build-info.json with the commit the build came from ('+dirty' when tracked files had
// changes), which bench reports carry; null outside a git checkout (a build from the tarball's sources).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

let commit = null;
try {
  const git = (...args) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  commit = git('rev-parse', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '+dirty' : '');
} catch {
  commit = null;
}
writeFileSync('dist/build-info.json', `${JSON.stringify({ commit }, null, 2)}\n`);
