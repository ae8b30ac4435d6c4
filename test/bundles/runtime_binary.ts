// Where the bundle and benchmark tests find Deno, Bun and workerd.
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve('.');

/**
 * A runtime's binary from its platform package (installed for x64 Linux, where CI runs, by
 * scripts/setup.sh: the wrapper packages need install scripts, their other platforms' packages
 * are not on every registry, and a library user should not install them). Elsewhere undefined:
 * the test says it is skipped.
 */
export function runtimeBinary(path: string[], name: string): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.warn(`${name}: skipped, its binary is installed for x64 Linux only (${process.platform}-${process.arch} here)`);
    return undefined;
  }
  const binary = join(root, 'node_modules', ...path);
  assert.ok(existsSync(binary), `${binary}: bash scripts/setup.sh installs it (${path.slice(0, 2).join('/')}, kept out of package.json)`);
  return binary;
}
