/**
 * A minimal, safe Python unpickler for plain data: the subset of the pickle format used by insightface's
 * verification `.bin` files (and other containers of bytes, strings, numbers, lists, tuples and dicts). It never
 * runs code: the only "globals" it knows are the two Python 3 uses to pickle `bytes` at protocol 2.
 *
 * Format reference (pickletools): a pickle is a program for a stack machine, one opcode byte followed by its
 * arguments, ending with STOP. Integers in arguments are little-endian. Supported opcodes:
 *
 * | byte   | opcode            | argument                           | effect                                        |
 * |--------|-------------------|------------------------------------|-----------------------------------------------|
 * | 0x80   | PROTO             | u8 protocol (2..5 accepted)        | header                                        |
 * | 0x95   | FRAME             | u64 frame length                   | ignored (frames only group opcodes)           |
 * | `.`    | STOP              |                                    | end; the top of the stack is the result       |
 * | `(`    | MARK              |                                    | push a mark                                   |
 * | `N` 0x88 0x89 | NONE, NEWTRUE, NEWFALSE |                       | push None / True / False                      |
 * | `K` `M` `J` | BININT1, BININT2, BININT | u8, u16, i32          | push an int                                   |
 * | 0x8a   | LONG1             | u8 n, n bytes two's complement     | push an int (number if safe, else bigint)     |
 * | `G`    | BINFLOAT          | f64 BIG-endian                     | push a float                                  |
 * | `C` `B` 0x8e | SHORT_BINBYTES, BINBYTES, BINBYTES8 | u8/u32/u64 n, n bytes | push bytes (Python 3)          |
 * | 0x96   | BYTEARRAY8        | u64 n, n bytes                     | push bytes (protocol 5 bytearray)             |
 * | `U` `T` | SHORT_BINSTRING, BINSTRING | u8 / i32 n, n bytes       | push bytes (a Python 2 `str`)                 |
 * | 0x8c `X` 0x8d | SHORT_BINUNICODE, BINUNICODE, BINUNICODE8 | u8/u32/u64 n, n UTF-8 bytes | push a str          |
 * | `]` `l` | EMPTY_LIST, LIST |                                    | push [] / the items since the mark as a list  |
 * | `a` `e` | APPEND, APPENDS  |                                    | append one item / the items since the mark    |
 * | `)` `t` 0x85 0x86 0x87 | EMPTY_TUPLE, TUPLE, TUPLE1..3 |        | build a tuple                                 |
 * | `}` `d` | EMPTY_DICT, DICT |                                    | build a dict                                  |
 * | `s` `u` | SETITEM, SETITEMS |                                   | set one / the key-value pairs since the mark  |
 * | 0x94 `q` `r` | MEMOIZE, BINPUT, LONG_BINPUT | -, u8, u32 index   | remember the top of the stack                 |
 * | `h` `j` | BINGET, LONG_BINGET | u8, u32 index                   | push a remembered value                       |
 * | `c` + `R` | GLOBAL + REDUCE | `module\nname\n`                  | only `_codecs.encode(str, 'latin1')` and `__builtin__/builtins.bytes()`, which is how Python 3 writes bytes at protocol 2 |
 *
 * Anything else (protocol 0 text opcodes, sets, class instances, numpy arrays, persistent ids, out-of-band
 * buffers) is a {@link DataFormatError} naming the opcode and its byte offset, e.g.
 * `"x.bin at byte 2: unsupported pickle opcode 0x93 (STACK_GLOBAL)"`. So are truncation, stack underflow and
 * a missing STOP. The machine has no recursion, and every argument length is checked against the bytes left
 * before anything is allocated, so hostile input cannot hang it or exhaust memory beyond the file size.
 *
 * Python values map to: None -> null, bool -> boolean, int -> number (or bigint beyond 2^53), float -> number,
 * str -> string, bytes -> Uint8Array (or a {@link PickleBytesRef} when `lazyBytes` asks for it), list -> Array,
 * tuple -> {@link PickleTuple}, dict -> {@link PickleDict}.
 */
import * as fs from 'fs';
import { DataFormatError, DataNotFoundError, isNotFound } from './errors';

/** Bytes left in the file: `length` bytes at byte `offset` (see `UnpickleOptions.lazyBytes`). */
export class PickleBytesRef {
  constructor(readonly offset: number, readonly length: number) {}
}

/** A Python tuple. */
export class PickleTuple {
  constructor(readonly items: PickleValue[]) {}
}

/** A Python dict, as its key-value pairs in insertion order (keys may be any value, so no Map). */
export class PickleDict {
  readonly entries: [PickleValue, PickleValue][] = [];
}

/** A callable named by GLOBAL; only usable as the target of REDUCE. */
class PickleGlobal {
  constructor(readonly module: string, readonly name: string) {}
}

/** A decoded Python value. */
export type PickleValue =
  | null | boolean | number | bigint | string | Uint8Array | PickleBytesRef | PickleValue[] | PickleTuple | PickleDict;

type StackValue = PickleValue | PickleGlobal;

/** Random-access bytes: a buffer or a file. */
export interface ByteSource {
  readonly size: number;
  /** `length` bytes at `offset`; the caller guarantees `offset + length <= size`. May return a view into a cache. */
  read(offset: number, length: number): Uint8Array;
}

/** A {@link ByteSource} over bytes in memory. */
export class BufferByteSource implements ByteSource {
  readonly size: number;
  constructor(private readonly buf: Uint8Array) {
    this.size = buf.length;
  }

  read(offset: number, length: number): Uint8Array {
    return this.buf.subarray(offset, offset + length);
  }
}

/** Cache size of {@link FileByteSource}. */
const FILE_CHUNK = 1 << 16;

/** A {@link ByteSource} over an open file, read synchronously through a 64 KiB cache. Call `close()`. */
export class FileByteSource implements ByteSource {
  readonly size: number;
  private readonly fd: number;
  private cache: Uint8Array = new Uint8Array(0);
  private cacheStart = 0;

  /** @throws DataNotFoundError if the file does not exist. */
  constructor(readonly path: string) {
    try {
      this.fd = fs.openSync(path, 'r');
    } catch (e) {
      if (isNotFound(e)) throw new DataNotFoundError(path, 'no such file');
      throw e;
    }
    const st = fs.fstatSync(this.fd);
    if (st.isDirectory()) {
      fs.closeSync(this.fd);
      throw new DataNotFoundError(path, 'is a directory, expected a file');
    }
    this.size = st.size;
  }

  read(offset: number, length: number): Uint8Array {
    if (offset >= this.cacheStart && offset + length <= this.cacheStart + this.cache.length) {
      return this.cache.subarray(offset - this.cacheStart, offset - this.cacheStart + length);
    }
    if (length > FILE_CHUNK / 2) return this.readDirect(offset, length);
    this.cache = this.readDirect(offset, Math.min(FILE_CHUNK, this.size - offset));
    this.cacheStart = offset;
    return this.cache.subarray(0, length);
  }

  private readDirect(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = fs.readSync(this.fd, out, got, length - got, offset + got);
      if (n === 0) throw new DataFormatError(this.path, `file shrank while reading (${length - got} bytes missing)`, { offset: offset + got });
      got += n;
    }
    return out;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Options of {@link unpickle}. */
export interface UnpickleOptions {
  /** Name of the input in error messages. Default `"<pickle>"`. */
  file?: string;
  /**
   * Byte strings (bytes, Python 2 str, bytearray) of at least this many bytes are not read: a
   * {@link PickleBytesRef} with their offset and length is returned instead (for streaming large files).
   * Default `Infinity` (everything is read).
   */
  lazyBytes?: number;
}

const OPCODE_NAMES: Record<number, string> = {
  0x49: 'INT', 0x4a: 'BININT', 0x4b: 'BININT1', 0x4d: 'BININT2', 0x4c: 'LONG', 0x8a: 'LONG1', 0x8b: 'LONG4',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8e: 'BINBYTES8', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER', 0x4e: 'NONE', 0x88: 'NEWTRUE',
  0x89: 'NEWFALSE', 0x56: 'UNICODE', 0x8c: 'SHORT_BINUNICODE', 0x58: 'BINUNICODE', 0x8d: 'BINUNICODE8', 0x46: 'FLOAT',
  0x47: 'BINFLOAT', 0x5d: 'EMPTY_LIST', 0x61: 'APPEND', 0x65: 'APPENDS', 0x6c: 'LIST', 0x29: 'EMPTY_TUPLE', 0x74: 'TUPLE',
  0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x7d: 'EMPTY_DICT', 0x64: 'DICT', 0x73: 'SETITEM', 0x75: 'SETITEMS',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x30: 'POP', 0x32: 'DUP', 0x28: 'MARK', 0x31: 'POP_MARK',
  0x67: 'GET', 0x68: 'BINGET', 0x6a: 'LONG_BINGET', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x94: 'MEMOIZE',
  0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x52: 'REDUCE', 0x62: 'BUILD',
  0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x80: 'PROTO', 0x2e: 'STOP', 0x95: 'FRAME',
  0x50: 'PERSID', 0x51: 'BINPERSID',
};

/** `"0x86 (TUPLE2)"`, or `"0xff (not a pickle opcode)"`. */
export function opcodeName(op: number): string {
  return `0x${op.toString(16).padStart(2, '0')} (${OPCODE_NAMES[op] ?? 'not a pickle opcode'})`;
}

/** Highest pickle protocol understood. */
export const MAX_PICKLE_PROTOCOL = 5;

const created = new WeakMap<object, number>();

/** Byte offset of the opcode that created a list, tuple or dict returned by {@link unpickle}. */
export function pickleOffset(v: PickleValue): number | undefined {
  return typeof v === 'object' && v !== null ? created.get(v) : undefined;
}

/** Short description of a value for error messages: `"a dict with 2 entries"`, `"a tuple of 3 items"`, ... */
export function describePickleValue(v: PickleValue): string {
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (v === null) return 'None';
  if (typeof v === 'boolean') return `a bool (${v ? 'True' : 'False'})`;
  if (typeof v === 'number' || typeof v === 'bigint') return `a number (${String(v)})`;
  if (typeof v === 'string') return `a str of ${plural(v.length, 'character')}`;
  if (v instanceof Uint8Array) return `bytes (${plural(v.length, 'byte')})`;
  if (v instanceof PickleBytesRef) return `bytes (${plural(v.length, 'byte')})`;
  if (Array.isArray(v)) return `a list of ${plural(v.length, 'item')}`;
  if (v instanceof PickleTuple) return `a tuple of ${plural(v.items.length, 'item')}`;
  return `a dict with ${plural(v.entries.length, 'entry')}`.replace('entrys', 'entries');
}

const utf8 = new TextDecoder('utf-8');

/**
 * Decodes a pickle. `data` is the whole pickle in memory, or a {@link ByteSource} (e.g. a {@link FileByteSource},
 * for files larger than you want to hold, together with `lazyBytes`). Trailing bytes after STOP are ignored, as
 * Python does.
 * @throws DataFormatError naming `opts.file` and the byte offset of the offending opcode.
 */
export function unpickle(data: Uint8Array | ByteSource, opts: UnpickleOptions = {}): PickleValue {
  const src: ByteSource = data instanceof Uint8Array ? new BufferByteSource(data) : data;
  const file = opts.file ?? '<pickle>';
  const lazy = opts.lazyBytes ?? Infinity;
  const size = src.size;
  const stack: StackValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, StackValue>();
  let pos = 0;
  let opAt = 0;
  let op = 0;

  const fail = (reason: string, at = opAt): never => {
    throw new DataFormatError(file, reason, { offset: at });
  };
  const need = (n: number): void => {
    if (n > size - pos) fail(`truncated pickle: ${opcodeName(op)} needs ${n} more bytes, only ${size - pos} remain`);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const b = src.read(pos, n);
    pos += n;
    return b;
  };
  const u8 = (): number => take(1)[0];
  const u16 = (): number => { const b = take(2); return b[0] | (b[1] << 8); };
  const u32 = (): number => { const b = take(4); return (b[0] | (b[1] << 8) | (b[2] << 16)) + b[3] * 0x1000000; };
  const i32 = (): number => { const b = take(4); return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24); };
  const u64 = (): number => {
    const lo = u32(), hi = u32();
    // any length >= 2^53 is far beyond the file and fails the `need` check anyway
    return hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 0x100000000 + lo;
  };
  const line = (): string => {
    const start = pos;
    let s = '';
    for (;;) {
      if (pos - start > 256) fail('GLOBAL name longer than 256 bytes');
      const c = u8();
      if (c === 0x0a) return s;
      s += String.fromCharCode(c);
    }
  };
  const bytesValue = (n: number): Uint8Array | PickleBytesRef => {
    need(n);
    if (n >= lazy) {
      const ref = new PickleBytesRef(pos, n);
      pos += n;
      return ref;
    }
    return take(n).slice();
  };
  const push = (v: StackValue): void => {
    stack.push(v);
  };
  const pop = (): StackValue => {
    const base = marks.length ? marks[marks.length - 1] : 0;
    if (stack.length <= base) fail(`${opcodeName(op)} on an empty stack${marks.length ? ' (above the last MARK)' : ''}`);
    return stack.pop() as StackValue;
  };
  const top = (): StackValue => {
    const base = marks.length ? marks[marks.length - 1] : 0;
    if (stack.length <= base) fail(`${opcodeName(op)} on an empty stack`);
    return stack[stack.length - 1];
  };
  const popMark = (): StackValue[] => {
    const m = marks.pop();
    if (m === undefined) fail(`${opcodeName(op)} without a MARK`);
    return stack.splice(m as number);
  };
  const plain = (v: StackValue): PickleValue => {
    if (v instanceof PickleGlobal) fail(`${v.module}.${v.name} used as a value (only bytes construction is supported)`);
    return v as PickleValue;
  };
  const track = <T extends object>(v: T): T => {
    created.set(v, opAt);
    return v;
  };
  const asList = (v: StackValue): PickleValue[] => {
    if (!Array.isArray(v)) fail(`${opcodeName(op)} on ${v instanceof PickleGlobal ? 'a global' : describePickleValue(v)}, expected a list`);
    return v as PickleValue[];
  };
  const asDict = (v: StackValue): PickleDict => {
    if (!(v instanceof PickleDict)) fail(`${opcodeName(op)} on ${v instanceof PickleGlobal ? 'a global' : describePickleValue(v)}, expected a dict`);
    return v as PickleDict;
  };
  const setItems = (d: PickleDict, kv: StackValue[]): void => {
    if (kv.length % 2 !== 0) fail(`${opcodeName(op)} with an odd number (${kv.length}) of keys and values`);
    for (let i = 0; i < kv.length; i += 2) d.entries.push([plain(kv[i]), plain(kv[i + 1])]);
  };
  const memoGet = (k: number): void => {
    if (!memo.has(k)) fail(`${opcodeName(op)} of memo ${k}, which was never stored`);
    push(memo.get(k) as StackValue);
  };
  const reduce = (fn: StackValue, args: StackValue): PickleValue => {
    if (!(fn instanceof PickleGlobal)) return fail('REDUCE on a value that is not a global');
    if (!(args instanceof PickleTuple)) return fail(`REDUCE with ${describePickleValue(plain(args))} as arguments, expected a tuple`);
    const a = args.items;
    if (fn.name === 'bytes' || fn.name === 'bytearray') {
      if (a.length === 0) return new Uint8Array(0);
      const list = a[0];
      if (a.length === 1 && Array.isArray(list) && list.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < 256)) {
        return Uint8Array.from(list as number[]);
      }
      return fail(`${fn.module}.${fn.name} with unsupported arguments`);
    }
    // _codecs.encode(text, 'latin1'): how Python 3 pickles bytes at protocols 0-2
    const [text, enc] = a;
    if (a.length !== 2 || typeof text !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) {
      return fail(`_codecs.encode with unsupported arguments (expected a str and 'latin1')`);
    }
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 255) fail(`_codecs.encode: character U+${c.toString(16)} is not latin1`);
      out[i] = c;
    }
    return out;
  };

  for (;;) {
    opAt = pos;
    if (pos >= size) fail(`pickle ends without STOP (${size} bytes)`, size);
    op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const p = u8();
        if (p > MAX_PICKLE_PROTOCOL) fail(`unsupported pickle protocol ${p} (at most ${MAX_PICKLE_PROTOCOL})`);
        break;
      }
      case 0x95: u64(); break; // FRAME
      case 0x2e: { // STOP: the result is the top of the stack (like Python, leftovers below it are ignored)
        if (stack.length === 0) fail('STOP on an empty stack');
        return plain(stack[stack.length - 1]);
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x4a: push(i32()); break; // BININT
      case 0x8a: { // LONG1
        const n = u8();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: { // BINFLOAT (big-endian)
        const b = take(8);
        push(new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false));
        break;
      }
      case 0x43: case 0x55: push(bytesValue(u8())); break; // SHORT_BINBYTES, SHORT_BINSTRING
      case 0x42: push(bytesValue(u32())); break; // BINBYTES
      case 0x54: { // BINSTRING (signed length)
        const n = i32();
        if (n < 0) fail(`BINSTRING with negative length ${n}`);
        push(bytesValue(n));
        break;
      }
      case 0x8e: case 0x96: push(bytesValue(u64())); break; // BINBYTES8, BYTEARRAY8
      case 0x8c: push(utf8.decode(take(u8()))); break; // SHORT_BINUNICODE
      case 0x58: push(utf8.decode(take(u32()))); break; // BINUNICODE
      case 0x8d: push(utf8.decode(take(u64()))); break; // BINUNICODE8
      case 0x5d: push(track([] as PickleValue[])); break; // EMPTY_LIST
      case 0x6c: push(track(popMark().map(plain))); break; // LIST
      case 0x61: { // APPEND
        const v = plain(pop());
        asList(top()).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark().map(plain);
        const list = asList(top());
        for (const v of items) list.push(v);
        break;
      }
      case 0x29: push(track(new PickleTuple([]))); break; // EMPTY_TUPLE
      case 0x74: push(track(new PickleTuple(popMark().map(plain)))); break; // TUPLE
      case 0x85: case 0x86: case 0x87: { // TUPLE1..3
        const n = op - 0x84;
        const items: PickleValue[] = new Array(n);
        for (let i = n - 1; i >= 0; i--) items[i] = plain(pop());
        push(track(new PickleTuple(items)));
        break;
      }
      case 0x7d: push(track(new PickleDict())); break; // EMPTY_DICT
      case 0x64: { // DICT
        const d = track(new PickleDict());
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop(), k = pop();
        setItems(asDict(top()), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const kv = popMark();
        setItems(asDict(top()), kv);
        break;
      }
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x68: memoGet(u8()); break; // BINGET
      case 0x6a: memoGet(u32()); break; // LONG_BINGET
      case 0x63: { // GLOBAL
        const module = line(), name = line();
        const ok = (module === '_codecs' && name === 'encode') ||
          ((module === '__builtin__' || module === 'builtins') && (name === 'bytes' || name === 'bytearray'));
        if (!ok) fail(`unsupported pickle global ${module}.${name} (only plain bytes, str, numbers, lists, tuples and dicts can be read)`);
        push(new PickleGlobal(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        push(reduce(fn, args));
        break;
      }
      default:
        fail(`unsupported pickle opcode ${opcodeName(op)}`);
    }
  }
}

/**
 * Decodes a pickle file, reading it through a 64 KiB cache (see {@link unpickle}; `opts.file` defaults to `path`).
 * @throws DataNotFoundError if the file is missing; DataFormatError for a malformed or unsupported pickle.
 */
export function unpickleFile(path: string, opts: UnpickleOptions = {}): PickleValue {
  const src = new FileByteSource(path);
  try {
    return unpickle(src, { file: path, ...opts });
  } finally {
    src.close();
  }
}
