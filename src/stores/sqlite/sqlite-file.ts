import { accessSync, chmodSync, closeSync, constants, openSync, statSync } from 'node:fs';
import { storeUnavailable } from '../../persistence/store-errors.js';

/**
 * The database file on disk: created by us with mode 0600 before SQLite opens it (SQLite gives
 * its -wal and -shm files the database file's mode), and watched for being removed or replaced
 * while open: SQLite would go on writing into the unlinked file and report success.
 *
 * Nothing here opens an existing database file (or its -wal or -shm): closing any descriptor
 * of a file drops every POSIX lock the process holds on it, SQLite's exclusive lock included,
 * and a second process could then open a file this one is writing. Modes are set by path.
 */

/** Which file a path named when it was opened. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/**
 * Before SQLite opens `path`: creates it with mode 0600 when absent; otherwise checks that it
 * is a file this process may read and write, and takes group and other bits off it and off
 * its -wal and -shm. Throws `WD_STORE_UNAVAILABLE`.
 */
export function prepareFile(path: string): void {
  const cannot = (error: unknown) => storeUnavailable(`Cannot open the SQLite store at \`${path}\` for writing`, error);
  let stat;
  try {
    stat = statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    throw cannot(error);
  }
  if (stat === undefined) {
    try {
      // O_EXCL: a file that appeared meanwhile is someone's, maybe open: never opened here.
      closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600));
      return restrictSideFiles(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw cannot(error);
      return prepareFile(path);
    }
  }
  if (stat.isDirectory()) throw cannot(Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), { code: 'EISDIR' }));
  try {
    // SQLite would fall back to read-only and fail at the first write: refused here instead.
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw cannot(error);
  }
  restrict(path);
  restrictSideFiles(path);
}

/** Takes group and other bits off `path`'s -wal and -shm, by path: safe while SQLite has them open. */
export function restrictSideFiles(path: string): void {
  for (const side of [`${path}-wal`, `${path}-shm`]) restrict(side);
}

function restrict(file: string): void {
  try {
    const stat = statSync(file, { throwIfNoEntry: false });
    if (stat !== undefined && (stat.mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch (error) {
    throw storeUnavailable(`Cannot restrict \`${file}\` to its owner (mode 0600)`, error);
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
