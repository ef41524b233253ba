/**
 * What the `coreface` commands share: the typed errors the dispatcher (main.ts) turns into exit codes, option
 * parsing (node's parseArgs plus --backend and --help on every command), the typed option readers, JSON files,
 * backend start-up and number formatting.
 */
import * as fs from 'fs';
import { parseArgs } from 'util';
import { initBackend, BackendName, BACKEND_NAMES } from '../backends';

/** A usage error: printed with the usage hint, exit code 2. */
export class UsageError extends Error {}

/** A problem with the user's input found by a command (bad data, a model that cannot load): one line, exit code 2. */
export class CliError extends Error {}

/** `--help` on a command: the dispatcher prints the usage, exit code 0. */
export class HelpRequested extends Error {}

/** Stops the command with a {@link CliError}: the dispatcher prints `coreface: <message>` on one line, exit code 2. */
export function fail(message: string): never {
  throw new CliError(message);
}

/** The options a command accepts (besides --backend and --help, which every command accepts). */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** Parsed option values. */
export type OptionValues = Record<string, string | boolean | undefined>;

/** Parses a command's options (no positionals); throws HelpRequested for --help, UsageError for bad input. */
export function parse(argv: string[], options: OptionSpec): OptionValues {
  return parseWithPositionals(argv, options, false).values;
}

/** Parses a command's options and positionals; throws HelpRequested for --help, UsageError for bad input. */
export function parseWithPositionals(argv: string[], options: OptionSpec, allowPositionals = true): { values: OptionValues; positionals: string[] } {
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, backend: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals });
    parsed = { values: values as OptionValues, positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  // A bad --backend is a usage error found before any work (not exit 1 after the config was read or the
  // backend of the in-process caller was switched).
  const b = parsed.values.backend;
  if (typeof b === 'string' && !(BACKEND_NAMES as readonly string[]).includes(b)) {
    throw new UsageError(`--backend must be one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}, got '${b}'`);
  }
  if (parsed.values.help) throw new HelpRequested();
  return parsed;
}

/** A positive integer option (`--jobs 2`), undefined when absent. */
export function intOption(v: string | boolean | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** A JSON file's value; a missing, unreadable or invalid file is a UsageError naming it. */
export function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`config file not found: ${file}`);
    if (code === 'EISDIR') throw new UsageError(`config file ${file} is a directory`);
    throw new UsageError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, '')); // a BOM (Windows editors) is no reason to refuse a file
  } catch (e) {
    throw new UsageError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * A message as one line without terminal control characters: messages quote file contents (JSON.parse
 * snippets of random bytes), config keys and node's multi-line parseArgs texts.
 */
export function oneLine(msg: string): string {
  // eslint-disable-next-line no-control-regex
  return msg.replace(/\s*\r?\n\s*/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Starts the backend named by --backend (validated by the parser), or the default one. */
export async function startBackend(v: string | boolean | undefined): Promise<void> {
  await initBackend({ backend: typeof v === 'string' ? (v as BackendName) : undefined });
}

/** A fraction as a percentage with two decimals, 'n/a' for null, undefined and non-finite values. */
export function fmtPct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(2)}%`;
}

/** One `coreface` command: its names, its part of the usage text, and what it runs. */
export interface Command {
  /** The word after `coreface`. */
  name: string;
  /** Its lines of the usage text (`  coreface <name> ...` and the indented description). */
  usage: string;
  /** Runs the command on the arguments after its name; resolves to the exit code. */
  run(argv: string[]): Promise<number> | number;
}
