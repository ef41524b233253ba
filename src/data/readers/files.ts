/**
 * Small file helpers shared by the readers: open with a typed "missing file" error, and positional reads that
 * return fewer bytes only at the end of the file.
 */
import * as fs from 'fs';
import { DataNotFoundError, isNotFound } from './errors';

/**
 * Opens `file` for reading and returns the handle and the file size.
 * @throws DataNotFoundError (`"<file>: no such file"`) when it does not exist.
 */
export async function openForRead(file: string, what = 'no such file'): Promise<{ fh: fs.promises.FileHandle; size: number }> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    if (isNotFound(e)) throw new DataNotFoundError(file, what);
    throw e;
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new DataNotFoundError(file, 'is a directory, expected a file');
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Reads `length` bytes at `position`; the result is shorter only if the file ends first. */
export async function readAt(fh: fs.promises.FileHandle, length: number, position: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(out, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? out : out.subarray(0, got);
}
