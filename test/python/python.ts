// The Python the PyTorch tests run: the first of $WAVELET_GPT_PYTHON, python3 and /usr/bin/python3
// that imports torch (Debian's python3-torch lives under /usr/bin/python3, beside any other
// python3 on the PATH), with python/ on its path. None is an error that says what to install:
// these tests never pass by not running.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

export interface TorchPython {
  command: string;
  env: NodeJS.ProcessEnv;
  torchVersion: string;
}

let found: TorchPython | undefined;

export function torchPython(): TorchPython {
  if (found) return found;
  const env = { ...process.env, PYTHONPATH: resolve('python'), PYTHONDONTWRITEBYTECODE: '1' };
  const candidates = [process.env.WAVELET_GPT_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const command of candidates) {
    try {
      const torchVersion = execFileSync(command, ['-c', 'import torch; print(torch.__version__)'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      return (found = { command, env, torchVersion });
    } catch {
      // not this one
    }
  }
  throw new Error(`no Python with torch among ${candidates.join(', ')}: install Debian's python3-torch (scripts/setup.sh does) or set WAVELET_GPT_PYTHON`);
}
