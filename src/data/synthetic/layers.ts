/**
 * What synthfaces renders once per identity: lookup tables of its outline and texture, and the pose- and
 * expression-independent layers (hair, neck, ears, skin, beard, nose) painted into premultiplied RGBA textures at
 * 1.5x the output sampling, kept in a small LRU keyed by identity object and resolution (render.ts composites them).
 */
import { RGB, scaleRgb, SynthIdentity } from './identity';
import { aa, ellipseDist, LayerTexture, painterFor, VIEW_HALF_EXTENT } from './painter';

/** Linear interpolation in a lookup table sampled uniformly over [lo, hi] (clamped outside). */
function lut(t: Float32Array, lo: number, hi: number, x: number): number {
  const n1 = t.length - 1;
  const f = ((x - lo) / (hi - lo)) * n1;
  if (f <= 0) return t[0];
  if (f >= n1) return t[n1];
  const i = f | 0;
  return t[i] + (t[i + 1] - t[i]) * (f - i);
}

const JAW_LUT_SIZE = 129, JAW_LO = -1.6, JAW_HI = 1.6;
const HAIR_LUT_SIZE = 129, HAIR_LO = -1.6, HAIR_HI = 1.6;
const TEX_GRID = 33, TEX_HALF = 1.15;

/** Per-identity lookup tables (identities are immutable, see `sampleIdentity`). */
interface IdentityTables {
  /** Face half-width factor as a function of y = (v - faceCy) / faceHalfHeight. */
  jaw: Float32Array;
  /** Hairline v as a function of u. */
  hairline: Float32Array;
  /** Skin texture factor on a TEX_GRID^2 grid over u, v - faceCy in [-TEX_HALF, TEX_HALF]. */
  texture: Float32Array;
}
const tables = new WeakMap<SynthIdentity, IdentityTables>();

export function tablesFor(id: SynthIdentity): IdentityTables {
  let t = tables.get(id);
  if (t) return t;
  const jaw = new Float32Array(JAW_LUT_SIZE);
  for (let k = 0; k < JAW_LUT_SIZE; k++) {
    const y = JAW_LO + ((JAW_HI - JAW_LO) * k) / (JAW_LUT_SIZE - 1);
    jaw[k] = y > 0 ? 1 - id.jawTaper * Math.pow(Math.min(y, 1), id.jawPow) : 1 - id.foreheadTaper * Math.min(y * y, 1);
  }
  const hairline = new Float32Array(HAIR_LUT_SIZE);
  const a = id.faceHalfWidth;
  for (let k = 0; k < HAIR_LUT_SIZE; k++) {
    const u = HAIR_LO + ((HAIR_HI - HAIR_LO) * k) / (HAIR_LUT_SIZE - 1);
    const x = u / a;
    hairline[k] = id.faceCy + id.hairline + id.hairCurve * x * x * a + id.hairPart * u + id.fringeAmp * Math.cos(id.fringeFreq * u + id.fringePhase);
  }
  // sum of cosines, separably: cos(fu u + fv v + p) = cos(fu u) cos(fv v + p) - sin(fu u) sin(fv v + p)
  const texture = new Float32Array(TEX_GRID * TEX_GRID).fill(1);
  const tx = id.texture;
  const cu = new Float32Array(TEX_GRID), su = new Float32Array(TEX_GRID), cv = new Float32Array(TEX_GRID), sv = new Float32Array(TEX_GRID);
  for (let k = 0; k < tx.length; k += 4) {
    for (let j = 0; j < TEX_GRID; j++) {
      const w = -TEX_HALF + (2 * TEX_HALF * j) / (TEX_GRID - 1);
      cu[j] = Math.cos(tx[k] * w); su[j] = Math.sin(tx[k] * w);
      cv[j] = Math.cos(tx[k + 1] * w + tx[k + 2]); sv[j] = Math.sin(tx[k + 1] * w + tx[k + 2]);
    }
    for (let iy = 0; iy < TEX_GRID; iy++) {
      for (let ix = 0; ix < TEX_GRID; ix++) texture[iy * TEX_GRID + ix] += tx[k + 3] * (cu[ix] * cv[iy] - su[ix] * sv[iy]);
    }
  }
  t = { jaw, hairline, texture };
  tables.set(id, t);
  return t;
}

/** Bilinear lookup in the texture grid (u, y = v - faceCy). */
function textureAt(t: Float32Array, u: number, y: number): number {
  const k = (TEX_GRID - 1) / (2 * TEX_HALF);
  let fx = (u + TEX_HALF) * k, fy = (y + TEX_HALF) * k;
  const m = TEX_GRID - 1.0001;
  fx = fx < 0 ? 0 : fx > m ? m : fx;
  fy = fy < 0 ? 0 : fy > m ? m : fy;
  const ix = fx | 0, iy = fy | 0, rx = fx - ix, ry = fy - iy;
  const o = iy * TEX_GRID + ix;
  const top = t[o] + (t[o + 1] - t[o]) * rx, bot = t[o + TEX_GRID] + (t[o + TEX_GRID + 1] - t[o + TEX_GRID]) * rx;
  return top + (bot - top) * ry;
}

/** Face outline: ellipse whose half-width narrows towards forehead and jaw. Approximate signed distance. */
export function faceDist(id: SynthIdentity, jaw: Float32Array, u: number, v: number): number {
  const b = id.faceHalfHeight;
  const y = (v - id.faceCy) / b;
  const aw = id.faceHalfWidth * lut(jaw, JAW_LO, JAW_HI, y);
  const x = u / aw;
  return (Math.sqrt(x * x + y * y) - 1) * (aw < b ? aw : b);
}

/** Oversampling of the cached identity layers relative to the output pixel grid. */
const LAYER_OVERSAMPLE = 1.5;
/** Face-unit domain of the cached identity layers (covers head, hair and the top of the neck). */
const LAYER_U0 = -1.12, LAYER_U1 = 1.12, LAYER_V0 = -1.3, LAYER_V1 = 1.25;

/** Pose- and expression-independent layers of one identity, cached for consecutive renders. */
export interface IdentityLayers {
  /** Hair behind the head, neck, ears, face skin, moles, beard, moustache, nose, eye sockets. */
  base: LayerTexture;
  /** Front hair (drawn over eyes and brows). */
  top: LayerTexture | null;
}

const LAYER_CACHE_SIZE = 8;
const layerCache: { id: SynthIdentity; res: number; layers: IdentityLayers }[] = [];

export function layersFor(id: SynthIdentity, res: number): IdentityLayers {
  for (let k = 0; k < layerCache.length; k++) {
    const e = layerCache[k];
    if (e.id === id && e.res === res) {
      if (k > 0) { layerCache.splice(k, 1); layerCache.unshift(e); }
      return e.layers;
    }
  }
  const layers = buildLayers(id, res);
  layerCache.unshift({ id, res, layers });
  if (layerCache.length > LAYER_CACHE_SIZE) layerCache.pop();
  return layers;
}

function buildLayers(id: SynthIdentity, res: number): IdentityLayers {
  const step = (2 * VIEW_HALF_EXTENT) / res / LAYER_OVERSAMPLE;
  const w = Math.ceil((LAYER_U1 - LAYER_U0) / step), h = Math.ceil((LAYER_V1 - LAYER_V0) / step);
  const P = painterFor(w, h);
  const px = step;
  const a = id.faceHalfWidth, b = id.faceHalfHeight, cy = id.faceCy;
  const skin = id.skin;
  const dark = (c: RGB, s: number): RGB => scaleRgb(c, s);
  const T = tablesFor(id);
  const jaw = T.jaw;

  P.setDomain(LAYER_U0, LAYER_V0, step);
  // Hair behind the head (volume and long hair).
  const hairDark = dark(id.hair, 0.8);
  if (id.hairline > -1.2) {
    const hx = a + id.hairVolume, hy = b + id.hairVolume;
    P.ellipse(0, cy - 0.05, hx, hy * 0.95, 0, hairDark, 1, 1);
    if (id.hairLength > 0) {
      // hair reaching the bottom edge of the layer continues downwards (sampling clamps to the bottom row)
      const bottom = cy + id.hairLength, top = cy - 0.2, w = hx * 0.98, r = 0.15;
      P.paint(-w, top, w, Math.min(bottom, LAYER_V1 + 1), (u, v) => {
        const qx = Math.abs(u) - (w - r), qy = Math.abs(v - (top + bottom) / 2) - ((bottom - top) / 2 - r);
        const ox = Math.max(qx, 0), oy = Math.max(qy, 0);
        return aa(Math.sqrt(ox * ox + oy * oy) + Math.min(Math.max(qx, qy), 0) - r, px);
      }, hairDark, 1, 1);
    }
  }

  // Neck (reaches the bottom edge of the layer; sampling clamps there, so it continues downwards).
  const neckW = a * 0.5, neckTop = cy + b * 0.3;
  P.paint(-neckW, neckTop, neckW, LAYER_V1 + 1, (u, v) => aa(Math.max(Math.abs(u) - neckW, neckTop - v), px), dark(skin, 0.82), 1, 1);
  P.blob(0, cy + b * 0.98, neckW * 1.1, 0.1, 0, dark(skin, 0.6), 0.45);

  // Ears (hidden by long hair).
  if (id.hairLength < 0.2) {
    for (const s of [-1, 1]) {
      P.ellipse(s * a * 0.97, cy + id.eyeY + 0.1, id.earRx, id.earRy, s * 0.15, dark(skin, 0.9), 1, 1);
      P.ellipse(s * a * 1.0, cy + id.eyeY + 0.1, id.earRx * 0.45, id.earRy * 0.6, s * 0.15, dark(skin, 0.75), 0.6);
    }
  }

  // Face skin with low-frequency texture and cheek blush.
  const tex = T.texture;
  const eyeV = cy + id.eyeY;
  const noseV = eyeV + id.noseLen;
  const mouthV = noseV + id.mouthGap;
  const blushCol: RGB = [200, 80, 80];
  const blushV = noseV - 0.03, blushU = id.eyeSep;
  P.paintShaded(-a - 0.05, cy - b - 0.05, a + 0.05, cy + b + 0.05, (u, v, out) => {
    const d = faceDist(id, jaw, u, v);
    const cov = aa(d, px);
    if (cov <= 0) return 0;
    const t = textureAt(tex, u, v - cy);
    // cheeks: soft blush; darkening towards the outline gives a rounded look
    const du = Math.abs(u) - blushU, dv = v - blushV;
    const q = (du * du + dv * dv) * 50;
    const bl = q < 4 ? id.blush * (1 - q * 0.25) * (1 - q * 0.25) : 0;
    const e = 1 + d * 4;
    const s = t * (e > 0 ? 1 - 0.12 * e : 1);
    out[0] = (skin[0] + (blushCol[0] - skin[0]) * bl) * s;
    out[1] = (skin[1] + (blushCol[1] - skin[1]) * bl) * s;
    out[2] = (skin[2] + (blushCol[2] - skin[2]) * bl) * s;
    return cov;
  }, 1);
  for (let k = 0; k < id.moles.length; k += 4) {
    if (id.moles[k + 3] > 0) P.ellipse(id.moles[k], cy + id.moles[k + 1], id.moles[k + 2], id.moles[k + 2], 0, dark(skin, 0.45), id.moles[k + 3]);
  }

  // Beard and moustache (clipped to the face).
  const beardCol = dark(id.hair, 0.85);
  if (id.beard > 0) {
    const top = mouthV + id.beardTop;
    P.paint(-a, top - 0.3, a, cy + b + 0.05, (u, v) => {
      const x = u / a;
      const edge = top - 0.25 * (x * x) * 1.6 - 0.05;
      return Math.min(aa(faceDist(id, jaw, u, v), px), aa(edge - v, px * 2.5));
    }, beardCol, id.beard);
  }
  if (id.moustache > 0) {
    const mw = id.mouthHalfWidth * 1.1;
    P.paint(-mw, mouthV - 0.15, mw, mouthV, (u, v) => {
      const x = u / mw;
      const c = mouthV - id.lipUpper - 0.045 + 0.04 * x * x;
      return aa(Math.max(Math.abs(u) - mw, Math.abs(v - c) - 0.035 * (1 - 0.5 * x * x)), px);
    }, beardCol, id.moustache);
  }

  // Nose: side shading, tip, nostrils.
  P.blob(0.045, eyeV + id.noseLen * 0.55, id.noseWidth * 0.35, id.noseLen * 0.45, 0, dark(skin, 0.6), id.noseShade);
  P.blob(0, noseV - 0.01, id.noseWidth * 0.9, 0.05, 0, dark(skin, 0.7), id.noseShade * 1.3);
  P.blob(0, noseV - 0.045, id.noseWidth * 0.55, 0.04, 0, scaleRgb(skin, 1.08), 0.5);
  for (const s of [-1, 1]) P.ellipse(s * id.noseWidth * 0.55, noseV + 0.005, id.noseWidth * 0.3, 0.022, s * 0.3, dark(skin, 0.35), 0.8);
  // Eye sockets.
  for (const s of [-1, 1]) {
    P.blob(s * id.eyeSep, eyeV - 0.02, id.eyeRx * 1.4, id.eyeRy * 1.9 + 0.02, -s * id.eyeTilt, dark(skin, 0.65), 0.5);
  }
  const base = P.toTexture();

  // Front hair (above the hairline, inside the skull + volume ellipse).
  let top: LayerTexture | null = null;
  if (id.hairline > -1.2) {
    P.clear();
    const hx = a + id.hairVolume * 0.8, hy = b + id.hairVolume;
    const hl = T.hairline, hair = id.hair, ph = id.fringePhase;
    P.paintShaded(-hx, cy - hy, hx, cy + b * 0.3, (u, v, out) => {
      const cov = aa(v - lut(hl, HAIR_LO, HAIR_HI, u), px * 1.5);
      if (cov <= 0) return 0;
      const inside = aa(ellipseDist(u, v - cy, hx, hy), px);
      if (inside <= 0) return 0;
      // faint strands: a triangle wave across the hair
      const w = (25 * u + 6 * v + ph) * 0.15915494309189535;
      const t = 1 + 0.08 * (Math.abs(w - Math.floor(w) - 0.5) - 0.25);
      out[0] = hair[0] * t; out[1] = hair[1] * t; out[2] = hair[2] * t;
      return cov < inside ? cov : inside;
    }, 1);
    top = P.toTexture();
  }
  return { base, top };
}
