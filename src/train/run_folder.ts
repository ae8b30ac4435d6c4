// A run's folder, claimed before anything is written to it: the path must be a folder we can
// write (not '', a file or a device); a folder that already holds a run is refused unless the
// run is being resumed or --overwrite says to replace it; a lock file keeps a second process out
// while one trains (a lock whose process is gone, after a crash, is taken over); and the
// temporary files of a killed writer (writeFileAtomic's `.NAME.PID.tmp`) are removed.

import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { WaveletInputError } from '../errors.js';

export const LOCK_FILE = '.lock';
/** The files a run writes: a folder holding any of them holds a run. */
export const RUN_FILES = ['checkpoint.safetensors', 'log.json'];
const TEMPORARY = /^\..+\.(\d+)\.tmp$/;

export interface RunFolder {
  dir: string;
  /** What was found and done on claiming it, to tell the user (a stale lock taken over, temp files removed). */
  notes: string[];
  /** Removes the lock; the folder's contents stay. */
  release(): void;
}

/** Whether process `pid` on this host is alive (a process we may not signal is alive too). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Checks `dir` as a run's folder without touching it: a path that can be a folder, a run already
 * there only where `existing` allows it, no live process holding its lock. Returns the run files
 * found. claimRunFolder() checks again (the lock atomically) when it takes the folder.
 */
export function checkRunFolder(dir: string, existing: 'resume' | 'overwrite' | 'refuse', flag = '--out'): string[] {
  if (typeof dir !== 'string' || dir.trim() === '') throw new WaveletInputError(`${flag}: expected a folder, found an empty path`);
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) throw new WaveletInputError(`${flag} ${dir}: not a folder (a run is a folder holding its checkpoint, log and plot)`);
  const held = RUN_FILES.filter((file) => existsSync(join(dir, file)));
  if (held.length && existing === 'refuse') {
    let step = '';
    try {
      const log = JSON.parse(readFileSync(join(dir, 'log.json'), 'utf8')) as { entries?: { step: number }[] };
      const last = log.entries?.at(-1);
      if (last) step = ` (trained to step ${last.step + 1})`;
    } catch {
      // the step is only a courtesy
    }
    throw new WaveletInputError(`${flag} ${dir}: holds a run${step} (${held.join(', ')}); continue it with --resume ${dir}, replace it with --overwrite, or choose another --out`);
  }
  const lock = liveLock(join(dir, LOCK_FILE));
  if (lock) throw new WaveletInputError(`${flag} ${dir}: ${lock}`);
  return held;
}

/** Why the lock file keeps us out (a live process on this host, or one on another host), or undefined. */
function liveLock(lock: string): string | undefined {
  if (!existsSync(lock)) return undefined;
  const [pidText, host] = readLock(lock);
  const pid = Number(pidText);
  if (host === hostname() && Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) return `in use by process ${pid} (its lock ${lock}); wait for it to finish or stop it`;
  if (host !== hostname() && host !== '') return `locked by process ${pidText} on ${host} (${lock}); delete the lock if that run is over`;
  return undefined;
}

/**
 * Claims `dir` for a run. `existing` says what a run already there means: 'resume' continues it,
 * 'overwrite' replaces it, 'refuse' is an error that names both flags.
 */
export function claimRunFolder(dir: string, existing: 'resume' | 'overwrite' | 'refuse', flag = '--out'): RunFolder {
  const held = checkRunFolder(dir, existing, flag);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new WaveletInputError(`${flag} ${dir}: cannot make the folder (${code ?? message})`);
  }
  const notes: string[] = [];
  const lock = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, 'wx'); // fails when the file exists: one process wins
      writeSync(fd, `${process.pid} ${hostname()}`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw new WaveletInputError(`${flag} ${dir}: cannot take the lock ${lock} (${(error as Error).message})`);
    }
    const live = liveLock(lock);
    if (live) throw new WaveletInputError(`${flag} ${dir}: ${live}`);
    notes.push(`took over the lock of process ${readLock(lock)[0] || '?'}, which is gone (a crash)`);
    rmSync(lock, { force: true });
  }
  const removed = removeTemporaryFiles(dir);
  if (removed.length) notes.push(`removed ${removed.length} temporary file${removed.length > 1 ? 's' : ''} of a killed run (${removed.join(', ')})`);
  // Overwritten files are replaced at the first evaluation, not deleted now: a run that fails
  // before writing anything leaves the old one as it was.
  if (existing === 'overwrite' && held.length) notes.push(`the run already here (${held.join(', ')}) is replaced at the first evaluation (--overwrite)`);
  return {
    dir,
    notes,
    release() {
      if (readLock(lock)[0] === String(process.pid)) rmSync(lock, { force: true });
    },
  };
}

function readLock(lock: string): [string, string] {
  try {
    const [pid = '', host = ''] = readFileSync(lock, 'utf8').trim().split(' ');
    return [pid, host];
  } catch {
    return ['', ''];
  }
}

/** Removes `.NAME.PID.tmp` files whose writer is no longer running; returns their names. */
export function removeTemporaryFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const match = TEMPORARY.exec(name);
    if (!match || alive(Number(match[1]))) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
