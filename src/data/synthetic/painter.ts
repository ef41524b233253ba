/**
 * The synthfaces painter: float RGB scratch buffers for one resolution with the pixel <-> face-unit transform, and
 * analytic shapes (anti-aliased coverage from approximate signed distances) composited into them.
 */
import type { RGB } from './identity';

/** Half-width of the visible image in face units at scale 1 (the crop is tight, like aligned faces). */
export const VIEW_HALF_EXTENT = 1.15;

export type Cov = (u: number, v: number) => number;

/** Anti-aliased coverage from an (approximate) signed distance d and a pixel size px. */
export function aa(d: number, px: number): number {
  const t = 0.5 - d / px;
  return t <= 0 ? 0 : t >= 1 ? 1 : t;
}

/** Approximate signed distance to an axis-aligned ellipse (f / |grad f|). */
export function ellipseDist(x: number, y: number, rx: number, ry: number): number {
  const qx = x / rx, qy = y / ry;
  const f = qx * qx + qy * qy - 1;
  const gx = qx / rx, gy = qy / ry;
  const g = 2 * Math.sqrt(gx * gx + gy * gy);
  return g > 1e-9 ? f / g : -Math.min(rx, ry);
}

/** Scratch buffers and the pixel <-> face-unit transform for one resolution. */
export class Painter {
  readonly n: number;
  readonly U: Float32Array;
  readonly V: Float32Array;
  readonly R: Float32Array;
  readonly G: Float32Array;
  readonly B: Float32Array;
  /**
   * Coverage (alpha) of the face layers: in a texture, the layer alpha (R, G, B are then premultiplied);
   * in an output picture, used to weight the illumination gradient.
   */
  readonly M: Float32Array;
  readonly tmp: Float32Array;
  /** Pixel size in face units (the anti-aliasing width). */
  px = 0;
  // pixel centre (x + 0.5, y + 0.5) -> face units: u = ou + uxx * x + uxy * y, v = ov + vxx * x + vxy * y
  private ou = 0; private uxx = 1; private uxy = 0; private ov = 0; private vxx = 0; private vxy = 1;
  // face units -> pixel coordinates (inverse of the above)
  private ox = 0; private xu = 1; private xv = 0; private oy = 0; private yu = 0; private yv = 1;

  constructor(readonly w: number, readonly h: number) {
    this.n = w * h;
    this.U = new Float32Array(this.n);
    this.V = new Float32Array(this.n);
    this.R = new Float32Array(this.n);
    this.G = new Float32Array(this.n);
    this.B = new Float32Array(this.n);
    this.M = new Float32Array(this.n);
    this.tmp = new Float32Array(this.n);
  }

  private setAffine(ou: number, uxx: number, uxy: number, ov: number, vxx: number, vxy: number): void {
    this.ou = ou; this.uxx = uxx; this.uxy = uxy; this.ov = ov; this.vxx = vxx; this.vxy = vxy;
    const det = uxx * vxy - uxy * vxx;
    this.xu = vxy / det; this.xv = -uxy / det; this.yu = -vxx / det; this.yv = uxx / det;
    this.ox = -(this.xu * ou + this.xv * ov); this.oy = -(this.yu * ou + this.yv * ov);
    this.px = Math.sqrt(Math.abs(det));
    const { w, h, U, V } = this;
    for (let y = 0; y < h; y++) {
      for (let x = 0, i = y * w; x < w; x++, i++) {
        U[i] = ou + uxx * (x + 0.5) + uxy * (y + 0.5);
        V[i] = ov + vxx * (x + 0.5) + vxy * (y + 0.5);
      }
    }
    this.clear();
  }

  /**
   * Output picture: image plane point p = shift + s * Rot(theta) * f (f in face units); the image spans
   * [-VIEW_HALF_EXTENT, VIEW_HALF_EXTENT]^2 of the image plane; shifts are fractions of the half extent.
   */
  setView(theta: number, s: number, shiftX: number, shiftY: number): void {
    const step = (2 * VIEW_HALF_EXTENT) / this.w;
    const c = Math.cos(theta) / s, sn = Math.sin(theta) / s;
    // p(x, y) = (-E + x * step - sx, -E + y * step - sy); f = Rot(-theta) p / s
    const px0 = -VIEW_HALF_EXTENT - shiftX * VIEW_HALF_EXTENT, py0 = -VIEW_HALF_EXTENT - shiftY * VIEW_HALF_EXTENT;
    this.setAffine(c * px0 + sn * py0, c * step, sn * step, -sn * px0 + c * py0, -sn * step, c * step);
  }

  /** Clear the colour and coverage buffers (keeps the transform). */
  clear(): void {
    this.R.fill(0); this.G.fill(0); this.B.fill(0); this.M.fill(0);
  }

  /** Texture: axis-aligned grid with origin (u0, v0) at the top-left pixel corner and square pixels of size step. */
  setDomain(u0: number, v0: number, step: number): void {
    this.setAffine(u0, step, 0, v0, 0, step);
  }

  /** Pixel rectangle [x0, x1) x [y0, y1) covering the face-unit box, or null if off-image. */
  rect(u0: number, v0: number, u1: number, v1: number): [number, number, number, number] | null {
    let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
    for (let c = 0; c < 4; c++) {
      const u = c & 1 ? u1 : u0, v = c & 2 ? v1 : v0;
      const x = this.ox + this.xu * u + this.xv * v - 0.5;
      const y = this.oy + this.yu * u + this.yv * v - 0.5;
      if (x < xmin) xmin = x;
      if (x > xmax) xmax = x;
      if (y < ymin) ymin = y;
      if (y > ymax) ymax = y;
    }
    const x0 = Math.max(0, Math.floor(xmin) - 1), x1 = Math.min(this.w, Math.ceil(xmax) + 2);
    const y0 = Math.max(0, Math.floor(ymin) - 1), y1 = Math.min(this.h, Math.ceil(ymax) + 2);
    return x0 >= x1 || y0 >= y1 ? null : [x0, x1, y0, y1];
  }

  /** Composite a premultiplied RGBA layer texture (bilinear; clamped at the edges) over this picture. */
  composite(t: LayerTexture): void {
    const r = this.rect(t.bounds[0], t.bounds[1], t.bounds[2], Math.min(t.bounds[3], 1e3));
    if (!r || t.bounds[2] <= t.bounds[0]) return;
    const [x0, x1, y0, y1] = r;
    const { U, V, R, G, B, M } = this;
    const d = t.data, tw = t.w, th = t.h, inv = 1 / t.step;
    const mx = tw - 1.0001, my = th - 1.0001;
    for (let y = y0; y < y1; y++) {
      for (let x = x0, i = y * this.w + x0; x < x1; x++, i++) {
        let fx = (U[i] - t.u0) * inv - 0.5, fy = (V[i] - t.v0) * inv - 0.5;
        fx = fx < 0 ? 0 : fx > mx ? mx : fx;
        fy = fy < 0 ? 0 : fy > my ? my : fy;
        const ix = fx | 0, iy = fy | 0, rx = fx - ix, ry = fy - iy;
        const o = (iy * tw + ix) * 4, o2 = o + tw * 4;
        const w00 = (1 - rx) * (1 - ry), w01 = rx * (1 - ry), w10 = (1 - rx) * ry, w11 = rx * ry;
        const a = d[o + 3] * w00 + d[o + 7] * w01 + d[o2 + 3] * w10 + d[o2 + 7] * w11;
        if (a <= 0) continue;
        const k = 1 - a;
        R[i] = d[o] * w00 + d[o + 4] * w01 + d[o2] * w10 + d[o2 + 4] * w11 + R[i] * k;
        G[i] = d[o + 1] * w00 + d[o + 5] * w01 + d[o2 + 1] * w10 + d[o2 + 5] * w11 + G[i] * k;
        B[i] = d[o + 2] * w00 + d[o + 6] * w01 + d[o2 + 2] * w10 + d[o2 + 6] * w11 + B[i] * k;
        M[i] = a + M[i] * k;
      }
    }
  }

  /**
   * Copy the painted layer out as a premultiplied RGBA texture (this painter must be in texture mode). Its
   * bounds are the box of non-zero alpha (one pixel margin); when the bottom row is not empty, the layer is
   * treated as extending downwards (sampling clamps to the bottom row).
   */
  toTexture(): LayerTexture {
    const { w, h, n, R, G, B, M } = this;
    const data = new Float32Array(n * 4);
    let xmin = w, xmax = -1, ymin = h, ymax = -1;
    for (let y = 0, i = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i++) {
        data[4 * i] = R[i]; data[4 * i + 1] = G[i]; data[4 * i + 2] = B[i]; data[4 * i + 3] = M[i];
        if (M[i] > 0) {
          if (x < xmin) xmin = x;
          if (x > xmax) xmax = x;
          if (y < ymin) ymin = y;
          if (y > ymax) ymax = y;
        }
      }
    }
    const st = this.uxx;
    const bounds: [number, number, number, number] = xmax < 0 ? [0, 0, 0, 0]
      : [this.ou + (xmin - 1) * st, this.ov + (ymin - 1) * st, this.ou + (xmax + 2) * st, ymax === h - 1 ? Infinity : this.ov + (ymax + 2) * st];
    return { data, w, h, u0: this.ou, v0: this.ov, step: st, bounds };
  }

  /** Composite a flat colour with coverage `cov` (times `alpha`) inside the face-unit box. */
  paint(u0: number, v0: number, u1: number, v1: number, cov: Cov, c: RGB, alpha = 1, mask = -1): void {
    const r = this.rect(u0, v0, u1, v1);
    if (!r || alpha <= 0) return;
    const [x0, x1, y0, y1] = r;
    const { U, V, R, G, B, M } = this;
    for (let y = y0; y < y1; y++) {
      for (let x = x0, i = y * this.w + x0; x < x1; x++, i++) {
        const a = cov(U[i], V[i]) * alpha;
        if (a <= 0) continue;
        R[i] += (c[0] - R[i]) * a;
        G[i] += (c[1] - G[i]) * a;
        B[i] += (c[2] - B[i]) * a;
        if (mask >= 0) M[i] += (mask - M[i]) * a;
      }
    }
  }

  /** Composite a shaded region: `shade(u, v, out)` returns the coverage and, when > 0, writes the colour. */
  paintShaded(u0: number, v0: number, u1: number, v1: number, shade: (u: number, v: number, out: RGB) => number, mask = -1): void {
    const r = this.rect(u0, v0, u1, v1);
    if (!r) return;
    const [x0, x1, y0, y1] = r;
    const { U, V, R, G, B, M } = this;
    const c: RGB = [0, 0, 0];
    for (let y = y0; y < y1; y++) {
      for (let x = x0, i = y * this.w + x0; x < x1; x++, i++) {
        const a = shade(U[i], V[i], c);
        if (a <= 0) continue;
        R[i] += (c[0] - R[i]) * a;
        G[i] += (c[1] - G[i]) * a;
        B[i] += (c[2] - B[i]) * a;
        if (mask >= 0) M[i] += (mask - M[i]) * a;
      }
    }
  }

  /** Fill the whole image with a colour plus linear gradients along y (red, green) and x (blue). */
  background(c: RGB, g: RGB): void {
    const { R, G, B, w, h } = this;
    for (let y = 0, i = 0; y < h; y++) {
      const v = (2 * y) / h - 1;
      for (let x = 0; x < w; x++, i++) {
        const u = (2 * x) / w - 1;
        R[i] = c[0] + g[0] * v; G[i] = c[1] + g[1] * v; B[i] = c[2] + g[2] * u;
      }
    }
  }

  /** Blend colour c into pixel i with opacity a (and the face mask, when mask >= 0). */
  private blend(i: number, c: RGB, a: number, mask: number): void {
    this.R[i] += (c[0] - this.R[i]) * a;
    this.G[i] += (c[1] - this.G[i]) * a;
    this.B[i] += (c[2] - this.B[i]) * a;
    if (mask >= 0) this.M[i] += (mask - this.M[i]) * a;
  }

  /** Filled ellipse (rotated by `angle`), ink-preserving for sub-pixel sizes. Dedicated loop (hot path). */
  ellipse(cu: number, cv: number, rx: number, ry: number, angle: number, c: RGB, alpha = 1, mask = -1): void {
    const px = this.px, half = px * 0.5;
    const ex = Math.max(rx, half), ey = Math.max(ry, half);
    const op = (alpha * rx * ry) / (ex * ey);
    const ca = Math.cos(angle), sa = Math.sin(angle);
    const hx = Math.hypot(ex * ca, ey * sa) + px, hy = Math.hypot(ex * sa, ey * ca) + px;
    const r = this.rect(cu - hx, cv - hy, cu + hx, cv + hy);
    if (!r || op <= 0) return;
    const [x0, x1, y0, y1] = r;
    const { U, V } = this;
    const irx = 1 / ex, iry = 1 / ey, irx2 = irx * irx, iry2 = iry * iry, ipx = 1 / px;
    for (let y = y0; y < y1; y++) {
      for (let x = x0, i = y * this.w + x0; x < x1; x++, i++) {
        const du = U[i] - cu, dv = V[i] - cv;
        const lx = ca * du + sa * dv, ly = ca * dv - sa * du;
        const qx = lx * irx, qy = ly * iry;
        const f = qx * qx + qy * qy - 1;
        const gx = lx * irx2, gy = ly * iry2;
        const g2 = gx * gx + gy * gy;
        let a = g2 > 1e-18 ? 0.5 - (f / (2 * Math.sqrt(g2))) * ipx : 1;
        if (a <= 0) continue;
        if (a > 1) a = 1;
        this.blend(i, c, a * op, mask);
      }
    }
  }

  /**
   * Soft blob (for shading): alpha * (1 - q^2 / 4)^2, q the normalised ellipse radius: a Gaussian-like bump
   * with compact support q < 2 (so it has a tight bounding box).
   */
  blob(cu: number, cv: number, rx: number, ry: number, angle: number, c: RGB, alpha: number): void {
    const ca = Math.cos(angle), sa = Math.sin(angle);
    const hx = 2 * Math.hypot(rx * ca, ry * sa), hy = 2 * Math.hypot(rx * sa, ry * ca);
    const r = this.rect(cu - hx, cv - hy, cu + hx, cv + hy);
    if (!r || alpha <= 0) return;
    const [x0, x1, y0, y1] = r;
    const { U, V } = this;
    const irx = 1 / rx, iry = 1 / ry;
    for (let y = y0; y < y1; y++) {
      for (let x = x0, i = y * this.w + x0; x < x1; x++, i++) {
        const du = U[i] - cu, dv = V[i] - cv;
        const qx = (ca * du + sa * dv) * irx, qy = (ca * dv - sa * du) * iry;
        const w = 1 - (qx * qx + qy * qy) * 0.25;
        if (w <= 0) continue;
        this.blend(i, c, alpha * w * w, -1);
      }
    }
  }

  /** Thick segment from (u0, v0) to (u1, v1), half-thickness t, rounded ends. Dedicated loop. */
  segment(u0: number, v0: number, u1: number, v1: number, t: number, c: RGB, alpha = 1): void {
    const px = this.px;
    const tt = Math.max(t, px * 0.5);
    const op = (alpha * t) / tt;
    const du = u1 - u0, dv = v1 - v0, iL2 = 1 / (du * du + dv * dv || 1e-12), ipx = 1 / px;
    const r = this.rect(Math.min(u0, u1) - tt, Math.min(v0, v1) - tt, Math.max(u0, u1) + tt, Math.max(v0, v1) + tt);
    if (!r || op <= 0) return;
    const [x0, x1, y0, y1] = r;
    const { U, V } = this;
    for (let y = y0; y < y1; y++) {
      for (let x = x0, i = y * this.w + x0; x < x1; x++, i++) {
        const pu = U[i] - u0, pv = V[i] - v0;
        let h = (pu * du + pv * dv) * iL2;
        h = h < 0 ? 0 : h > 1 ? 1 : h;
        const ex = pu - h * du, ey = pv - h * dv;
        let a = 0.5 - (Math.sqrt(ex * ex + ey * ey) - tt) * ipx;
        if (a <= 0) continue;
        if (a > 1) a = 1;
        this.blend(i, c, a * op, -1);
      }
    }
  }
}

/** A premultiplied RGBA layer on an axis-aligned face-unit grid (see `Painter.setDomain`). */
export interface LayerTexture {
  data: Float32Array;
  w: number;
  h: number;
  u0: number;
  v0: number;
  step: number;
  /** Face-unit box [u0, v0, u1, v1] outside which the layer is transparent (or edge-extended). */
  bounds: [number, number, number, number];
}

const painters = new Map<string, Painter>();
export function painterFor(w: number, h: number): Painter {
  const key = `${w}x${h}`;
  let p = painters.get(key);
  if (!p) { p = new Painter(w, h); painters.set(key, p); }
  return p;
}
