/** Pixel values of the benchmarks: bytes 0..255 to the workbench range ((x / 255) - 0.5) / 0.5 (insightface's). */

/** Byte value -> ((x / 255) - 0.5) / 0.5, one entry per byte value. */
export const NORMALISED_BYTES = Float32Array.from({ length: 256 }, (_, x) => (x / 255 - 0.5) / 0.5);

/**
 * Grey bytes 0..255 to the workbench range ((x / 255) - 0.5) / 0.5, written into `out` at `offset`, with the
 * grey value replicated into `channels` channels.
 */
export function writeNormalised(grey: Uint8Array | Uint8ClampedArray, channels: 1 | 3, out: Float32Array, offset: number): void {
  if (channels === 1) {
    for (let i = 0; i < grey.length; i++) out[offset + i] = NORMALISED_BYTES[grey[i]];
  } else {
    for (let i = 0, o = offset; i < grey.length; i++, o += 3) {
      const v = NORMALISED_BYTES[grey[i]];
      out[o] = v; out[o + 1] = v; out[o + 2] = v;
    }
  }
}
