/**
 * The Gaussian blur of the procedural benchmarks (synthfaces' camera blur, glyphs' rendering blur): separable, on
 * float channels in place, with the kernel exp(-k^2 / (2 sigma^2)) over [-radius, radius] normalised to sum 1.
 * Each benchmark keeps its own radius and edge rule (they are part of its pixels): synthfaces clamps at the edges
 * (radius min(ceil(2.2 sigma), w - 1, h - 1)), glyphs pads with zeros (radius ceil(3 sigma)).
 */

/** What lies beyond the image: the edge pixel repeated ('clamp') or zero ('zero'). */
export type BlurEdges = 'clamp' | 'zero';

/** The normalised kernel of width 2 radius + 1 (float32 taps; their sum taken in double precision). */
export function gaussianKernel(sigma: number, radius: number): Float32Array {
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let k = -radius; k <= radius; k++) {
    kernel[k + radius] = Math.exp(-(k * k) / (2 * sigma * sigma));
    sum += kernel[k + radius];
  }
  for (let k = 0; k < kernel.length; k++) kernel[k] /= sum;
  return kernel;
}

/**
 * Blurs the w x h channel `ch` (row-major) in place with `kernel` (from {@link gaussianKernel}): rows, then
 * columns, each tap sum accumulated in double precision from the left (top) tap. `tmp` (w * h floats) is scratch.
 */
export function blurChannel(ch: Float32Array, w: number, h: number, kernel: Float32Array, edges: BlurEdges, tmp: Float32Array = new Float32Array(w * h)): void {
  const rad = (kernel.length - 1) / 2;
  const zero = edges === 'zero';
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      if (x >= rad && x < w - rad) {
        for (let k = 0, o = row + x - rad; k <= 2 * rad; k++, o++) acc += kernel[k] * ch[o];
      } else {
        for (let k = -rad; k <= rad; k++) {
          const xx = x + k;
          if (xx >= 0 && xx < w) acc += kernel[k + rad] * ch[row + xx];
          else if (!zero) acc += kernel[k + rad] * ch[row + (xx < 0 ? 0 : w - 1)];
        }
      }
      tmp[row + x] = acc;
    }
  }
  for (let y = 0; y < h; y++) {
    const inner = y >= rad && y < h - rad;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      if (inner) {
        for (let k = 0, o = (y - rad) * w + x; k <= 2 * rad; k++, o += w) acc += kernel[k] * tmp[o];
      } else {
        for (let k = -rad; k <= rad; k++) {
          const yy = y + k;
          if (yy >= 0 && yy < h) acc += kernel[k + rad] * tmp[yy * w + x];
          else if (!zero) acc += kernel[k + rad] * tmp[(yy < 0 ? 0 : h - 1) * w + x];
        }
      }
      ch[y * w + x] = acc;
    }
  }
}
