/**
 * Option checks shared by every component that validates numbers and booleans (heads, pair losses, the CoReFace
 * loss): one message format, `${field} must be ${allowed}, got ${value}` (e.g. `margin must be a number in
 * [0, pi), got 4`).
 */

/**
 * Returns `v` if it is a finite number accepted by `ok`, else throws `${field} must be ${allowed}, got ${v}`
 * (e.g. `margin must be a positive integer, got 2.5`).
 */
export function checkNumber(field: string, v: unknown, ok: (x: number) => boolean, allowed: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new Error(`${field} must be ${allowed}, got ${String(v)}`);
  }
  return v;
}

/** Returns `v` if it is a boolean, else throws `${field} must be a boolean, got ${v}`. */
export function checkBoolean(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Error(`${field} must be a boolean, got ${String(v)}`);
  return v;
}

/** Throws `${field} must be a positive integer, got ${v}` unless v is one. */
export function checkPositiveInt(field: string, v: unknown): number {
  return checkNumber(field, v, (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
}

/** Throws `${field} must be a positive finite number, got ${v}` unless v is one (scales of logits). */
export function checkScale(scale: unknown, field = 'scale'): number {
  return checkNumber(field, scale, (x) => x > 0, 'a positive finite number');
}

/**
 * Every key of `defaults` with the value given in `opts`, or the default where `opts` leaves it undefined, in the
 * order of `defaults` (so a component states its defaults once: in the object it also registers). Types are not
 * checked here: the component's own checks do that with their precise messages.
 */
export function withDefaults<T extends object>(defaults: Readonly<Required<T>>, opts: T): Required<T> {
  const out = { ...defaults } as Required<T>;
  for (const k of Object.keys(defaults) as (keyof T)[]) {
    const v = opts[k];
    if (v !== undefined) out[k] = v as Required<T>[keyof T];
  }
  return out;
}
