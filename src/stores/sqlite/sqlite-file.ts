import { chmodSync, closeSync, constants, fchmodSync, fstatSync, openSync, statSync } from 'node:fs';
import { storeUnavailable } from '../../persistence/store-errors.js';

/**
 * The database file on disk: created by us with mode 0600 before SQLite opens it (SQLite gives
 * its -wal and -shm files the database file's mode), and watched for being removed or replaced
 * while open: SQLite would go on writing into the unlinked file and report success.
 */

/** Which file a path named when it was opened. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** Creates `path` with mode 0600 when absent; takes group and other bits off an existing one and off its -wal and -shm. */
export function prepareFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (error) {
    throw storeUnavailable(`Cannot open the SQLite store at \`${path}\` for writing`, error);
  }
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  } catch (error) {
    throw storeUnavailable(`Cannot restrict the SQLite store at \`${path}\` to its owner (mode 0600)`, error);
  } finally {
    closeSync(fd);
  }
  for (const side of [`${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(side).mode & 0o077) !== 0) chmodSync(side, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw storeUnavailable(`Cannot restrict \`${side}\` to its owner (mode 0600)`, error);
    }
  }
}

/** The file `path` names now, or `undefined` when it names none. */
export function identify(path: string): FileIdentity | undefined {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat === undefined ? undefined : { dev: stat.dev, ino: stat.ino };
}

export function sameFile(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}
