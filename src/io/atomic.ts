// Writes that a crash cannot leave half done: write a temporary file beside the target, flush it,
// then rename over the target (atomic on POSIX file systems). Readers see the old or the new file.
// A write that fails leaves no temporary file and says in one line what is wrong with the path; a
// temporary file left by a killed process (`.NAME.PID.tmp`) is removed by the next run
// (train/run_folder.ts).

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { WaveletInputError } from '../errors.js';

const REASONS: Record<string, string> = {
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'a part of its path is a file, not a folder',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'a read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
};

/** An I/O error as one line naming the path; errors without a code pass unchanged. */
export function writeError(path: string, error: unknown): Error {
  const { code, message } = error as NodeJS.ErrnoException;
  if (!code) return error as Error;
  return new WaveletInputError(`cannot write ${path}: ${REASONS[code] ?? message} (${code})`);
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  if (typeof path !== 'string' || path === '') throw new WaveletInputError('cannot write a file with an empty path');
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(temporary, 'w');
  } catch (error) {
    throw writeError(path, error);
  }
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporary, path);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    rmSync(temporary, { force: true });
    throw writeError(path, error);
  }
}
