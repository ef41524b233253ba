/**
 * Typed errors of the data readers. Every problem a reader detects in its input is one of these, never a bare
 * `Error`, so callers can tell bad data from bugs:
 *
 * - {@link DataReaderError}: the base class; `file` is the file (or folder) at fault, `offset` the byte offset and
 *   `line` the 1-based line number where known. The message always starts with the file name and, where known,
 *   the position: `"<file> at byte <offset>: <reason>"`, `"<file> line <line>: <reason>"` or `"<file>: <reason>"`.
 * - {@link DataFormatError}: the bytes or text do not follow the format (bad magic number, truncated record, wrong
 *   pickle shape, unsupported pickle opcode, bad line in pairs.txt).
 * - {@link DataNotFoundError}: a file or folder is missing, or a folder holds no usable images.
 * - {@link ImageDecodeError}: one image cannot be decoded (corrupt, truncated, not a JPEG/PNG, unreadable). Readers
 *   do not throw this one: they skip the image, count it and list it in their {@link ReadSummary}.
 */

/** Where in a file a problem is: a byte offset, a 1-based line number, or neither. */
export interface ErrorPosition {
  /** Byte offset into the file. */
  offset?: number;
  /** 1-based line number in a text file. */
  line?: number;
}

/** `"<file> at byte <offset>"`, `"<file> line <line>"` or `"<file>"`. */
export function formatPosition(file: string, pos: ErrorPosition = {}): string {
  if (pos.offset !== undefined) return `${file} at byte ${pos.offset}`;
  if (pos.line !== undefined) return `${file} line ${pos.line}`;
  return file;
}

/** Base class of every reader error. */
export class DataReaderError extends Error {
  /** The file or folder at fault, as given to the reader. */
  readonly file: string;
  /** Byte offset of the problem, when the file is binary and the position is known. */
  readonly offset?: number;
  /** 1-based line number of the problem, when the file is text. */
  readonly line?: number;
  /** The message without the `"<file> at byte <offset>: "` prefix. */
  readonly reason: string;

  constructor(file: string, reason: string, pos: ErrorPosition = {}) {
    super(`${formatPosition(file, pos)}: ${reason}`);
    this.name = new.target.name;
    this.file = file;
    this.reason = reason;
    if (pos.offset !== undefined) this.offset = pos.offset;
    if (pos.line !== undefined) this.line = pos.line;
  }
}

/** The input does not follow its format. */
export class DataFormatError extends DataReaderError {}

/** A file or folder is missing, or holds nothing usable. */
export class DataNotFoundError extends DataReaderError {}

/** One image could not be decoded or read; readers skip such images and list them in their summary. */
export class ImageDecodeError extends DataFormatError {}

/** Human-readable description of any thrown value (for skip reasons and wrapped errors). */
export function errorMessage(e: unknown): string {
  if (e instanceof DataReaderError) return e.reason;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Node's "no such file or directory" test. */
export function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';
}
