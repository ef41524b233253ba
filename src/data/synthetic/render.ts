/**
 * Procedural face renderer behind the `synthfaces` benchmark. Pure TypeScript, no canvas: every shape is
 * an analytic coverage function (approximate signed distance, anti-aliased over one pixel width) painted
 * with alpha compositing into float RGB buffers, in "face units" (face centre near the origin, y down,
 * face half-width ~0.7). A picture is a pure function of (identity, nuisance sample, resolution, rng).
 *
 * Speed: the pose- and expression-independent parts of an identity (hair, neck, ears, skin, beard, nose) are
 * painted once into premultiplied RGBA layers at 1.5x the output sampling and cached (small LRU keyed by
 * identity object and resolution); each picture composites those layers bilinearly under its pose and adds
 * the per-image parts analytically (background, eyes, brows, mouth, occluders), then lighting, blur, noise.
 * Rendering identity-major (all images of an identity in a row) makes the cache hit.
 *
 * Identities and nuisances: identity.ts; the painter: painter.ts; the per-identity tables and layers: layers.ts.
 * - `renderFace(identity, nuisance, resolution, channels, rng)`: HWC bytes 0..255.
 */
import { Rng } from '../../util/rng';
import { blurChannel, gaussianKernel } from '../blur';
import { NORMALISED_BYTES } from '../pixels';
import { DatasetError } from '../errors';
import {
  clamp, effectiveNuisance, mix, NuisanceParams, NuisanceSample, RGB, sampleNuisance, scaleRgb, SynthIdentity,
} from './identity';
import { aa, ellipseDist, Painter, painterFor } from './painter';
import { faceDist, IdentityLayers, layersFor, tablesFor } from './layers';

/** Paint one picture of `id` with nuisance `nz` into the output painter (float 0..255, before lighting/blur/noise). */
function paintPicture(P: Painter, id: SynthIdentity, nz: NuisanceSample, layers: IdentityLayers): void {
  const px = P.px;
  const a = id.faceHalfWidth, b = id.faceHalfHeight, cy = id.faceCy;
  const skin = id.skin;
  const dark = (c: RGB, s: number): RGB => scaleRgb(c, s);
  const jaw = tablesFor(id).jaw;
  const eyeV = cy + id.eyeY;
  const noseV = eyeV + id.noseLen;
  const mouthV = noseV + id.mouthGap;

  // Background: base colour with a gradient, clutter shapes, shoulders.
  P.background(nz.background, nz.backgroundGradient);
  for (const c of nz.clutter) {
    const col: RGB = [c[6], c[7], c[8]];
    if (c[0] === 0) P.ellipse(c[1], c[2], c[3], c[4], c[5], col, c[9]);
    else {
      const ca = Math.cos(c[5]) * c[3], sa = Math.sin(c[5]) * c[3];
      P.segment(c[1] - ca, c[2] - sa, c[1] + ca, c[2] + sa, c[4] * 0.5, col, c[9]);
    }
  }
  P.ellipse(0, cy + b + 0.75, a * 1.9, 0.55, 0, nz.shirt);

  P.composite(layers.base);

  // Eyes: sclera, iris clipped to sclera, pupil, upper lid line.
  const eyeRy = id.eyeRy * (1 - nz.squint * 0.65);
  for (const s of [-1, 1]) {
    const ex = s * id.eyeSep, ang = -s * id.eyeTilt;
    const ca = Math.cos(ang), sa = Math.sin(ang);
    const rx = id.eyeRx, ry = Math.max(eyeRy, 0.008);
    const sclera = (u: number, v: number): number => {
      const du = u - ex, dv = v - eyeV;
      return aa(ellipseDist(ca * du + sa * dv, -sa * du + ca * dv, rx, ry), px);
    };
    P.paint(ex - rx, eyeV - rx, ex + rx, eyeV + rx, sclera, [232, 226, 220], Math.min(1, ry / (px * 0.5)));
    const ir = id.eyeRy * id.irisScale * 0.95;
    const irisCov = (rr: number) => (u: number, v: number): number => {
      const du = u - ex, dv = v - eyeV;
      return Math.min(sclera(u, v), aa(Math.sqrt(du * du + dv * dv) - rr, px));
    };
    const pupilR = Math.max(ir * 0.45, px * 0.5);
    const irisOp = Math.min(1, ir / (px * 0.5)) * Math.min(1, ry / (px * 0.35));
    P.paint(ex - ir, eyeV - ir, ex + ir, eyeV + ir, irisCov(Math.max(ir, px * 0.5)), id.iris, irisOp);
    P.paint(ex - pupilR, eyeV - pupilR, ex + pupilR, eyeV + pupilR, irisCov(pupilR), [15, 12, 12], 0.9 * irisOp * Math.min(1, (ir * 0.45) / pupilR));
    // upper lid / lashes: a dark arc along the top edge of the eye
    const lidT = 0.018;
    P.paint(ex - rx - lidT, eyeV - ry - lidT - 0.02, ex + rx + lidT, eyeV + ry, (u, v) => {
      const du = u - ex, dv = v - eyeV;
      const x = ca * du + sa * dv, y = -sa * du + ca * dv;
      if (y > 0.25 * ry) return 0;
      return aa(Math.abs(ellipseDist(x, y, rx, ry)) - Math.max(lidT, px * 0.5), px) * Math.min(1, lidT / (px * 0.5));
    }, [35, 25, 25], 0.85);
  }

  // Brows.
  const browCol = mix(skin, dark(id.hair, 0.7), id.browDensity);
  for (const s of [-1, 1]) {
    const bx = s * (id.eyeSep + id.browShift);
    const by = eyeV - id.browGap - nz.browRaise * 0.05;
    // mirrored local frame: x points to the outer end; positive browAngle raises the outer end
    const ca = Math.cos(id.browAngle), sa = Math.sin(id.browAngle);
    const L = id.browLen, T = Math.max(id.browThick, px * 0.5), op = id.browThick / T;
    const hy = L * Math.abs(sa) + T + Math.abs(id.browArch) + px;
    P.paint(bx - L - T, by - hy, bx + L + T, by + hy, (u, v) => {
      const du = s * (u - bx), dv = v - by;
      const x = ca * du - sa * dv, y = sa * du + ca * dv;
      const xn = x / L;
      const c = -id.browArch * (1 - xn * xn);
      const th = T * (1 - 0.35 * clamp((xn + 1) / 2, 0, 1)); // thinner towards the outer end
      return aa(Math.max(Math.abs(x) - L, Math.abs(y - c) - th), px);
    }, browCol, op);
  }

  // Mouth: lips and (when open) the dark interior with a hint of teeth.
  {
    const smile = clamp(id.mouthCurve + nz.smile * 0.06, -0.08, 0.15);
    const w = id.mouthHalfWidth * (1 + 0.15 * Math.max(0, nz.smile));
    const open = nz.mouthOpen * 0.09;
    const lu = id.lipUpper, ll = id.lipLower;
    const my = mouthV;
    const prof = (x: number): number => Math.sqrt(Math.max(0, 1 - x * x));
    const centre = (x: number): number => my - smile * x * x;
    P.paint(-w, my - lu - open - 0.2, w, my + ll + open + 0.2, (u, v) => {
      const x = u / w;
      if (x <= -1 || x >= 1) return 0;
      const p = prof(x), c = centre(x);
      const top = c - open * 0.5 * p - lu * (0.35 + 0.65 * p), bot = c + open * 0.5 * p + ll * (0.35 + 0.65 * p);
      return aa(Math.max(Math.abs(u) - w, top - v, v - bot), px);
    }, id.lip);
    const seamT = 0.012;
    P.paint(-w, my - open - 0.2, w, my + open + 0.2, (u, v) => {
      const x = u / w;
      if (x <= -1 || x >= 1) return 0;
      const p = prof(x), c = centre(x);
      const hh = Math.max(open * 0.5 * p, seamT);
      return aa(Math.max(Math.abs(u) - w * 0.98, Math.abs(v - c) - Math.max(hh, px * 0.5)), px) * Math.min(1, hh / (px * 0.5));
    }, [45, 15, 20], 0.9);
    if (open > 0.02 && nz.smile > 0.2) {
      P.paint(-w * 0.6, my - open, w * 0.6, my, (u, v) => {
        const x = u / w;
        const c = centre(x) - open * 0.5 * prof(x);
        return aa(Math.max(Math.abs(u) - w * 0.55, Math.abs(v - c - open * 0.22) - open * 0.2), px);
      }, [225, 220, 205], 0.9);
    }
  }

  if (layers.top) P.composite(layers.top);

  // Occluders.
  if (nz.mask) {
    const m = nz.mask;
    const top = noseV - 0.06 + m.top;
    P.paint(-a - 0.05, top - 0.05, a + 0.05, cy + b + 0.1, (u, v) => {
      const d = faceDist(id, jaw, u * 0.95, v - 0.02);
      return Math.min(aa(d, px), aa(top - v + 0.03 * Math.cos(u * 4), px));
    }, m.color);
    for (const s of [-1, 1]) P.segment(s * a * 0.75, top + 0.05, s * a * 1.02, eyeV + 0.08, 0.012, dark(m.color, 0.85));
  }
  if (nz.glasses) {
    const g = nz.glasses;
    const gx = id.eyeRx * g.size, gy = id.eyeRx * g.size * 0.78;
    for (const s of [-1, 1]) {
      const ex = s * id.eyeSep;
      if (g.tint > 0) P.ellipse(ex, eyeV, gx, gy, 0, [20, 22, 28], g.tint);
      const T = Math.max(g.thick, px * 0.5), op = g.thick / T;
      P.paint(ex - gx - T, eyeV - gy - T, ex + gx + T, eyeV + gy + T, (u, v) => aa(Math.abs(ellipseDist(u - ex, v - eyeV, gx, gy)) - T, px), g.frame, op);
      P.segment(ex + s * gx, eyeV - gy * 0.3, s * (a + 0.05), eyeV - gy * 0.5, g.thick, g.frame);
    }
    P.segment(-id.eyeSep + gx, eyeV - gy * 0.3, id.eyeSep - gx, eyeV - gy * 0.3, g.thick, g.frame);
  }
  if (nz.hand) {
    const h = nz.hand;
    const col = scaleRgb(skin, h.tone);
    P.ellipse(h.u, cy + h.v, h.rx, h.ry, h.angle, col, 1, 1);
    const ca = Math.cos(h.angle), sa = Math.sin(h.angle);
    for (let f = 0; f < 4; f++) {
      const off = (f - 1.5) * h.ry * 0.55;
      const bu = h.u + ca * h.rx * 0.6 - sa * off, bv = cy + h.v + sa * h.rx * 0.6 + ca * off;
      const len = h.rx * (0.75 + 0.15 * (f === 1 || f === 2 ? 1 : 0));
      P.segment(bu, bv, bu + ca * len, bv + sa * len, h.ry * 0.2, scaleRgb(col, 0.97));
    }
  }
}

const NOISE_TABLE_SIZE = 1 << 12;
let noiseValues: Float32Array | null = null;
/** A fixed table of standard normal values (seeded; identical in every process). */
function noiseTable(): Float32Array {
  if (!noiseValues) {
    const r = new Rng('synthfaces/noise-table');
    noiseValues = new Float32Array(NOISE_TABLE_SIZE);
    for (let i = 0; i < NOISE_TABLE_SIZE; i++) noiseValues[i] = r.normal();
  }
  return noiseValues;
}

/** Separable Gaussian blur of R, G, B in place (edges clamped; radius min(ceil(2.2 sigma), w - 1, h - 1)). */
function gaussianBlur(P: Painter, sigma: number): void {
  const { w, h } = P;
  const kernel = gaussianKernel(sigma, Math.min(Math.ceil(2.2 * sigma), w - 1, h - 1));
  for (const ch of [P.R, P.G, P.B]) blurChannel(ch, w, h, kernel, 'clamp', P.tmp);
}


/**
 * Render (id, nz) into `out` at `offset` as HWC pixels: integers 0..255, or (`normalise`, Float32Array only)
 * normalised to [-1, 1]. Lighting, colour gains, blur, noise and quantisation happen here. Used by
 * `renderFaceWith` and by the benchmark builder (which writes straight into its big buffer).
 */
export function renderInto(id: SynthIdentity, nz: NuisanceSample, resolution: number, channels: 1 | 3, rng: Rng,
  out: Float32Array | Uint8Array, offset: number, normalise: boolean): void {
  const layers = layersFor(id, resolution);
  const P = painterFor(resolution, resolution);
  P.setView(nz.rotation, nz.scale, nz.shiftX, nz.shiftY);
  paintPicture(P, id, nz, layers);
  const { R, G, B, M, U, V, n } = P;
  // Illumination: a directional gradient across the face (weighted by head coverage), global gain, contrast,
  // per-channel gains.
  const lx = Math.cos(nz.lightAngle), ly = Math.sin(nz.lightAngle), ls = nz.lightStrength;
  const cy = id.faceCy;
  const gain = nz.brightness, con = nz.contrast;
  const [gr, gg, gb] = nz.gains;
  for (let i = 0; i < n; i++) {
    const l = 1 + ls * (lx * U[i] + ly * (V[i] - cy)) * (0.35 + 0.65 * M[i]);
    const f = (l > 0 ? l : 0) * gain;
    R[i] = ((R[i] * f - 128) * con + 128) * gr;
    G[i] = ((G[i] * f - 128) * con + 128) * gg;
    B[i] = ((B[i] * f - 128) * con + 128) * gb;
  }
  const sigma = nz.blurSigma * (resolution / 32);
  if (sigma >= 0.25) gaussianBlur(P, sigma);
  // Gaussian pixel noise: a walk with a random start and odd stride through a fixed table of normals
  // (a bijection on the table, so the values of one image are distinct draws).
  const ns = nz.noiseStd;
  const table = noiseTable();
  let at = rng.int(NOISE_TABLE_SIZE);
  const stride = 2 * rng.int(NOISE_TABLE_SIZE / 2) + 1;
  const mask = NOISE_TABLE_SIZE - 1;
  const norm = NORMALISED_BYTES;
  const toFloat = normalise && out instanceof Float32Array;
  for (let i = 0, o = offset; i < n; i++) {
    let r = R[i], g = G[i], b = B[i];
    if (channels === 1) {
      let y = 0.299 * r + 0.587 * g + 0.114 * b;
      if (ns > 0) { y += ns * table[at]; at = (at + stride) & mask; }
      const q = y <= 0 ? 0 : y >= 255 ? 255 : (y + 0.5) | 0;
      out[o++] = toFloat ? norm[q] : q;
    } else {
      if (ns > 0) {
        r += ns * table[at]; at = (at + stride) & mask;
        g += ns * table[at]; at = (at + stride) & mask;
        b += ns * table[at]; at = (at + stride) & mask;
      }
      const qr = r <= 0 ? 0 : r >= 255 ? 255 : (r + 0.5) | 0;
      const qg = g <= 0 ? 0 : g >= 255 ? 255 : (g + 0.5) | 0;
      const qb = b <= 0 ? 0 : b >= 255 ? 255 : (b + 0.5) | 0;
      if (toFloat) { out[o] = norm[qr]; out[o + 1] = norm[qg]; out[o + 2] = norm[qb]; }
      else { out[o] = qr; out[o + 1] = qg; out[o + 2] = qb; }
      o += 3;
    }
  }
}

/** Render a fully specified picture: HWC bytes 0..255 (length resolution^2 * channels). `rng` drives pixel noise. */
export function renderFaceWith(identity: SynthIdentity, sample: NuisanceSample, resolution: number, channels: 1 | 3, rng: Rng): Uint8Array {
  const out = new Uint8Array(resolution * resolution * channels);
  renderInto(identity, sample, resolution, channels, rng, out, 0, false);
  return out;
}

/**
 * Render one picture of `identity` with random nuisance drawn from `rng`: `nuisance` is the global strength
 * (0 = canonical clean picture) or `{ strength, params }` with per-field overrides. Returns HWC bytes 0..255.
 */
export function renderFace(identity: SynthIdentity, nuisance: number | { strength?: number; params?: Partial<NuisanceParams> },
  resolution: number, channels: 1 | 3, rng: Rng): Uint8Array {
  const strength = typeof nuisance === 'number' ? nuisance : nuisance.strength ?? 1;
  const params = typeof nuisance === 'number' ? {} : nuisance.params ?? {};
  if (!Number.isFinite(strength) || strength < 0) throw new DatasetError(`nuisance must be a finite number >= 0, got ${strength}`);
  if (!Number.isInteger(resolution) || resolution < 16) throw new DatasetError(`resolution must be an integer >= 16, got ${resolution}`);
  if (channels !== 1 && channels !== 3) throw new DatasetError(`channels must be 1 or 3, got ${String(channels)}`);
  const sample = sampleNuisance(rng, effectiveNuisance(strength, params));
  return renderFaceWith(identity, sample, resolution, channels, rng);
}
