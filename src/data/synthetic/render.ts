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
 * - `sampleIdentity(rng)`: identity = continuous parameter vector (outline, eyes, brows, nose, mouth, skin,
 *   hair, beard, ears, low-frequency skin texture, moles).
 * - `sampleNuisance(rng, strength, params)`: per-image pose, scale, shift, illumination, expression,
 *   occluders, background clutter, blur, noise; every strength is `strength * params.field`.
 * - `renderFace(identity, nuisance, resolution, channels, rng)`: HWC bytes 0..255.
 */
import { Rng } from '../../util/rng';
import { DatasetError } from '../errors';

export type RGB = [number, number, number];

/** Identity parameters (face units; angles in radians; colours 0..255). */
export interface SynthIdentity {
  faceHalfWidth: number;
  faceHalfHeight: number;
  /** Vertical position of the face centre. */
  faceCy: number;
  /** Narrowing of the forehead (0 = elliptic). */
  foreheadTaper: number;
  /** Narrowing of the jaw towards the chin. */
  jawTaper: number;
  /** Exponent of the jaw narrowing profile (low = V-shaped, high = square jaw). */
  jawPow: number;
  /** Eye line, relative to faceCy. */
  eyeY: number;
  /** Half distance between the eye centres. */
  eyeSep: number;
  eyeRx: number;
  eyeRy: number;
  /** Eye tilt (positive = outer corners up). */
  eyeTilt: number;
  /** Iris radius relative to eyeRy. */
  irisScale: number;
  iris: RGB;
  /** Brow centre height above the eye centre. */
  browGap: number;
  browLen: number;
  browThick: number;
  /** Positive = outer ends raised. */
  browAngle: number;
  /** Arch of the brow. */
  browArch: number;
  /** Opacity of the brow over skin. */
  browDensity: number;
  /** Inner offset of brow centre from eye centre (positive = towards the outer side). */
  browShift: number;
  /** Nose tip below the eye line. */
  noseLen: number;
  /** Half distance between the nostrils. */
  noseWidth: number;
  /** Darkness of the nose side shading. */
  noseShade: number;
  /** Mouth line below the nose tip. */
  mouthGap: number;
  mouthHalfWidth: number;
  lipUpper: number;
  lipLower: number;
  /** Resting mouth curvature (positive = corners up). */
  mouthCurve: number;
  lip: RGB;
  skin: RGB;
  /** Cheek redness. */
  blush: number;
  hair: RGB;
  /** Extra hair volume around the skull. */
  hairVolume: number;
  /** Hairline height at the centre, relative to faceCy (negative = up); very high = bald. */
  hairline: number;
  /** How much the hairline drops towards the temples. */
  hairCurve: number;
  /** Side parting slope of the hairline. */
  hairPart: number;
  fringeAmp: number;
  fringeFreq: number;
  fringePhase: number;
  /** Length of hair hanging behind/beside the face, below faceCy (0 = short). */
  hairLength: number;
  /** Beard opacity (0 = none). */
  beard: number;
  /** Beard upper edge relative to the mouth line. */
  beardTop: number;
  /** Moustache opacity (0 = none). */
  moustache: number;
  earRx: number;
  earRy: number;
  /** Low-frequency skin texture: TEXTURE_COMPONENTS x (fu, fv, phase, amplitude). */
  texture: number[];
  /** Moles: MAX_MOLES x (u, v, radius, opacity); opacity 0 = absent. */
  moles: number[];
}

/** Number of cosine components in the skin texture. */
export const TEXTURE_COMPONENTS = 4;
/** Maximum number of moles per identity. */
export const MAX_MOLES = 4;

/** Per-image nuisance strengths at `nuisance = 1`; the effective strength is `nuisance * field`. */
export interface NuisanceParams {
  /** Std of in-plane rotation, degrees (default 10). */
  rotationDeg: number;
  /** Std of log scale (default 0.07). */
  scaleJitter: number;
  /** Std of translation, as a fraction of the image half-width (default 0.05). */
  shift: number;
  /** Maximum strength of the directional shading gradient across the face (default 0.5). */
  illumination: number;
  /** Std of global brightness gain and contrast change (default 0.12). */
  brightness: number;
  /** Std of per-channel colour gains (white balance) (default 0.06). */
  colorCast: number;
  /** Expression strength: smile, open mouth, squint, brow raise (default 1). */
  expression: number;
  /** Probability of glasses (default 0.15). */
  glassesProb: number;
  /** Probability of a mask over the lower face (default 0.08). */
  maskProb: number;
  /** Probability of a hand-like skin-toned occluder (default 0.08). */
  handProb: number;
  /** Background clutter: colour randomness and number of shapes (default 1). */
  clutter: number;
  /** Maximum Gaussian blur sigma, in pixels of a 32-pixel image (default 0.8). */
  blurSigma: number;
  /** Maximum pixel noise std, in 0..255 units (default 8). */
  noiseStd: number;
}

/** Default per-image nuisance strengths (multiplied by the `nuisance` option). */
export const DEFAULT_NUISANCE_PARAMS: Readonly<NuisanceParams> = Object.freeze({
  rotationDeg: 10,
  scaleJitter: 0.07,
  shift: 0.05,
  illumination: 0.5,
  brightness: 0.12,
  colorCast: 0.06,
  expression: 1,
  glassesProb: 0.15,
  maskProb: 0.08,
  handProb: 0.08,
  clutter: 1,
  blurSigma: 0.8,
  noiseStd: 8,
});

/** One drawn set of per-image nuisances (what `renderFaceWith` renders). */
export interface NuisanceSample {
  rotation: number;
  scale: number;
  shiftX: number;
  shiftY: number;
  lightAngle: number;
  lightStrength: number;
  brightness: number;
  contrast: number;
  gains: RGB;
  smile: number;
  mouthOpen: number;
  squint: number;
  browRaise: number;
  glasses: { tint: number; frame: RGB; thick: number; size: number } | null;
  mask: { color: RGB; top: number } | null;
  hand: { u: number; v: number; angle: number; rx: number; ry: number; tone: number } | null;
  background: RGB;
  backgroundGradient: RGB;
  /** Clutter shapes: kind (0 ellipse, 1 bar), u, v, rx, ry, angle, r, g, b, alpha. */
  clutter: number[][];
  shirt: RGB;
  blurSigma: number;
  noiseStd: number;
}

const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);
const mix = (a: RGB, b: RGB, t: number): RGB => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const scaleRgb = (a: RGB, s: number): RGB => [a[0] * s, a[1] * s, a[2] * s];

function sampleSkin(rng: Rng): RGB {
  const t = rng.next();
  const r = 85 + 160 * Math.pow(t, 0.8) + rng.normal(0, 6);
  const g = r * rng.uniform(0.68, 0.84);
  const b = g * rng.uniform(0.74, 0.93);
  return [clamp(r, 40, 252), clamp(g, 25, 245), clamp(b, 15, 240)];
}

function sampleHair(rng: Rng): RGB {
  const k = rng.next();
  let base: number, warm: number;
  if (k < 0.55) { base = rng.uniform(14, 55); warm = rng.uniform(0, 0.35); }            // black / dark brown
  else if (k < 0.77) { base = rng.uniform(55, 120); warm = rng.uniform(0.15, 0.5); }    // brown
  else if (k < 0.88) { base = rng.uniform(140, 210); warm = rng.uniform(0.15, 0.35); }  // blond
  else if (k < 0.94) { base = rng.uniform(80, 140); warm = rng.uniform(0.6, 0.9); }     // red
  else { base = rng.uniform(120, 215); warm = rng.uniform(0, 0.06); }                   // grey / white
  return [clamp(base * (1 + warm), 0, 255), base, clamp(base * (1 - 0.6 * warm), 0, 255)];
}

function sampleIris(rng: Rng): RGB {
  const anchors: RGB[] = [[62, 38, 22], [95, 62, 30], [70, 100, 140], [80, 105, 70], [100, 105, 110]];
  const i = rng.next() < 0.6 ? rng.int(2) : rng.int(anchors.length);
  const j = rng.int(anchors.length);
  return scaleRgb(mix(anchors[i], anchors[j], rng.uniform(0, 0.35)), rng.uniform(0.8, 1.2));
}

/** Draw one identity from the continuous identity distribution. */
export function sampleIdentity(rng: Rng): SynthIdentity {
  const faceHalfWidth = rng.uniform(0.62, 0.8);
  const faceHalfHeight = rng.uniform(0.86, 1.0);
  const skin = sampleSkin(rng);
  const hair = sampleHair(rng);
  const bald = rng.next() < 0.07;
  const longHair = !bald && rng.next() < 0.45;
  const bearded = rng.next() < 0.18;
  const texture: number[] = [];
  for (let k = 0; k < TEXTURE_COMPONENTS; k++) {
    const f = rng.uniform(2.5, 8), th = rng.uniform(0, 2 * Math.PI);
    texture.push(f * Math.cos(th), f * Math.sin(th), rng.uniform(0, 2 * Math.PI), rng.uniform(0.02, 0.07));
  }
  const moles: number[] = [];
  const nMoles = rng.int(MAX_MOLES + 1);
  for (let k = 0; k < MAX_MOLES; k++) {
    const present = k < nMoles;
    moles.push(rng.uniform(-0.55, 0.55) * faceHalfWidth, rng.uniform(-0.5, 0.75) * faceHalfHeight, rng.uniform(0.025, 0.05),
      present ? rng.uniform(0.4, 0.8) : 0);
  }
  const lipTone = rng.uniform(0.25, 0.65);
  const eyeRx = rng.uniform(0.095, 0.145);
  return freezeIdentity({
    faceHalfWidth,
    faceHalfHeight,
    faceCy: rng.uniform(0.0, 0.08),
    foreheadTaper: rng.uniform(0, 0.18),
    jawTaper: rng.uniform(0.05, 0.42),
    jawPow: rng.uniform(1.2, 3.2),
    eyeY: rng.uniform(-0.2, -0.05),
    eyeSep: rng.uniform(0.24, 0.34),
    eyeRx,
    eyeRy: eyeRx * rng.uniform(0.4, 0.65),
    eyeTilt: rng.uniform(-0.2, 0.2),
    irisScale: rng.uniform(0.85, 1.2),
    iris: sampleIris(rng),
    browGap: rng.uniform(0.1, 0.19),
    browLen: rng.uniform(0.11, 0.19),
    browThick: rng.uniform(0.022, 0.055),
    browAngle: rng.uniform(-0.3, 0.25),
    browArch: rng.uniform(-0.01, 0.07),
    browDensity: rng.uniform(0.55, 1),
    browShift: rng.uniform(-0.03, 0.05),
    noseLen: rng.uniform(0.24, 0.38),
    noseWidth: rng.uniform(0.06, 0.12),
    noseShade: rng.uniform(0.1, 0.3),
    mouthGap: rng.uniform(0.12, 0.22),
    mouthHalfWidth: rng.uniform(0.15, 0.27),
    lipUpper: rng.uniform(0.025, 0.05),
    lipLower: rng.uniform(0.03, 0.07),
    mouthCurve: rng.uniform(-0.03, 0.05),
    lip: scaleRgb(mix(skin, [180, 65, 75], lipTone), rng.uniform(0.72, 0.92)),
    skin,
    blush: rng.uniform(0, 0.25),
    hair,
    hairVolume: bald ? 0 : rng.uniform(0.03, 0.22),
    hairline: bald ? -1.5 : -faceHalfHeight * rng.uniform(0.42, 0.8),
    hairCurve: rng.uniform(-0.1, 0.5),
    hairPart: rng.uniform(-0.18, 0.18),
    fringeAmp: rng.next() < 0.5 ? 0 : rng.uniform(0.02, 0.09),
    fringeFreq: rng.uniform(4, 14),
    fringePhase: rng.uniform(0, 2 * Math.PI),
    hairLength: longHair ? rng.uniform(0.3, 1.3) : 0,
    beard: bearded ? rng.uniform(0.45, 0.95) : 0,
    beardTop: rng.uniform(-0.12, 0.12),
    moustache: bearded || rng.next() < 0.08 ? rng.uniform(0.4, 0.95) : 0,
    earRx: rng.uniform(0.07, 0.11),
    earRy: rng.uniform(0.13, 0.2),
    texture,
    moles,
  });
}

/**
 * Identities are immutable (the renderer caches per-identity lookup tables): to vary one, copy it,
 * e.g. `freezeIdentity({ ...id, eyeSep: 0.3 })`.
 */
export function freezeIdentity(id: SynthIdentity): SynthIdentity {
  for (const c of [id.iris, id.lip, id.skin, id.hair, id.texture, id.moles]) Object.freeze(c);
  return Object.freeze(id);
}

/** Names of the scalar fields in the order used by `identityVector` (colours and arrays follow). */
const SCALAR_FIELDS = [
  'faceHalfWidth', 'faceHalfHeight', 'faceCy', 'foreheadTaper', 'jawTaper', 'jawPow', 'eyeY', 'eyeSep', 'eyeRx',
  'eyeRy', 'eyeTilt', 'irisScale', 'browGap', 'browLen', 'browThick', 'browAngle', 'browArch', 'browDensity',
  'browShift', 'noseLen', 'noseWidth', 'noseShade', 'mouthGap', 'mouthHalfWidth', 'lipUpper', 'lipLower',
  'mouthCurve', 'blush', 'hairVolume', 'hairline', 'hairCurve', 'hairPart', 'fringeAmp', 'fringeFreq',
  'fringePhase', 'hairLength', 'beard', 'beardTop', 'moustache', 'earRx', 'earRy',
] as const;

/** The identity as a flat numeric vector (scalars, then iris, lip, skin, hair colours, texture, moles). */
export function identityVector(id: SynthIdentity): Float64Array {
  const out: number[] = SCALAR_FIELDS.map((k) => id[k]);
  out.push(...id.iris, ...id.lip, ...id.skin, ...id.hair, ...id.texture, ...id.moles);
  return Float64Array.from(out);
}

/** Coerce a nuisance argument (a strength, or strength plus per-field overrides) to effective params. */
export function effectiveNuisance(strength: number, overrides: Partial<NuisanceParams> = {}): NuisanceParams {
  const out = { ...DEFAULT_NUISANCE_PARAMS, ...overrides };
  for (const k of Object.keys(out) as (keyof NuisanceParams)[]) out[k] *= strength;
  return out;
}

function randomColor(rng: Rng): RGB {
  return [rng.uniform(20, 235), rng.uniform(20, 235), rng.uniform(20, 235)];
}

/** A random colour pulled towards grey by a random amount (typical, moderately saturated scene colours). */
function sceneColor(rng: Rng): RGB {
  const grey = rng.uniform(40, 215);
  return mix(randomColor(rng), [grey, grey, grey], rng.uniform(0.2, 0.8));
}

/**
 * Draw per-image nuisances. `p` holds effective strengths (already multiplied by the global `nuisance`,
 * see `effectiveNuisance`); all zero gives a canonical frontal, neutral, clean, unoccluded picture.
 */
export function sampleNuisance(rng: Rng, p: NuisanceParams): NuisanceSample {
  const trunc = (std: number): number => (std > 0 ? clamp(rng.normal(0, 1), -2.5, 2.5) * std : 0);
  const prob = (q: number): boolean => q > 0 && rng.next() < Math.min(1, q);
  const e = p.expression;
  const neutralBg: RGB = [150, 150, 150];
  const bgMix = Math.min(1, p.clutter);
  const bg = mix(neutralBg, sceneColor(rng), bgMix);
  const bgGrad = mix([0, 0, 0], [rng.uniform(-40, 40), rng.uniform(-40, 40), rng.uniform(-40, 40)], bgMix);
  const clutter: number[][] = [];
  const nClutter = p.clutter > 0 ? rng.int(Math.max(1, Math.round(4 * p.clutter)) + 1) : 0;
  for (let k = 0; k < nClutter; k++) {
    const c = sceneColor(rng);
    clutter.push([rng.int(2), rng.uniform(-1.3, 1.3), rng.uniform(-1.3, 1.3), rng.uniform(0.1, 0.6), rng.uniform(0.04, 0.4),
      rng.uniform(0, Math.PI), c[0], c[1], c[2], Math.min(1, rng.uniform(0.4, 1) * p.clutter)]);
  }
  const glasses = prob(p.glassesProb)
    ? { tint: rng.next() < 0.3 ? rng.uniform(0.6, 0.95) : rng.uniform(0, 0.15), frame: scaleRgb(randomColor(rng), rng.uniform(0.2, 0.7)),
      thick: rng.uniform(0.018, 0.04), size: rng.uniform(1.3, 1.7) }
    : null;
  const mask = prob(p.maskProb)
    ? { color: mix(randomColor(rng), [230, 235, 240], rng.uniform(0.2, 0.9)), top: rng.uniform(-0.05, 0.05) }
    : null;
  const hand = prob(p.handProb)
    ? { u: rng.uniform(-0.6, 0.6), v: rng.uniform(0.1, 0.8), angle: rng.uniform(0, Math.PI), rx: rng.uniform(0.22, 0.36),
      ry: rng.uniform(0.14, 0.22), tone: rng.uniform(0.85, 1.1) }
    : null;
  return {
    rotation: (trunc(p.rotationDeg) * Math.PI) / 180,
    scale: Math.exp(trunc(p.scaleJitter)),
    shiftX: trunc(p.shift),
    shiftY: trunc(p.shift),
    lightAngle: rng.uniform(0, 2 * Math.PI),
    lightStrength: p.illumination > 0 ? rng.uniform(0, p.illumination) : 0,
    brightness: 1 + trunc(p.brightness),
    contrast: 1 + trunc(p.brightness),
    gains: [1 + trunc(p.colorCast), 1 + trunc(p.colorCast), 1 + trunc(p.colorCast)],
    smile: e > 0 ? clamp(rng.uniform(-0.3, 1) * e, -1, 1.5) : 0,
    mouthOpen: prob(0.3 * e) ? clamp(rng.uniform(0.3, 1) * e, 0, 1.2) : 0,
    squint: prob(0.3 * e) ? clamp(rng.uniform(0.2, 0.7) * e, 0, 0.85) : 0,
    browRaise: clamp(trunc(0.5 * e), -1, 1),
    glasses,
    mask,
    hand,
    background: bg,
    backgroundGradient: bgGrad,
    clutter,
    shirt: mix([80, 90, 110], randomColor(rng), bgMix),
    blurSigma: p.blurSigma > 0 && rng.next() < 0.7 ? rng.uniform(0, p.blurSigma) : 0,
    noiseStd: p.noiseStd > 0 ? rng.uniform(0, p.noiseStd) : 0,
  };
}

/** Half-width of the visible image in face units at scale 1 (the crop is tight, like aligned faces). */
export const VIEW_HALF_EXTENT = 1.15;

type Cov = (u: number, v: number) => number;

/** Anti-aliased coverage from an (approximate) signed distance d and a pixel size px. */
function aa(d: number, px: number): number {
  const t = 0.5 - d / px;
  return t <= 0 ? 0 : t >= 1 ? 1 : t;
}

/** Approximate signed distance to an axis-aligned ellipse (f / |grad f|). */
function ellipseDist(x: number, y: number, rx: number, ry: number): number {
  const qx = x / rx, qy = y / ry;
  const f = qx * qx + qy * qy - 1;
  const gx = qx / rx, gy = qy / ry;
  const g = 2 * Math.sqrt(gx * gx + gy * gy);
  return g > 1e-9 ? f / g : -Math.min(rx, ry);
}

/** Scratch buffers and the pixel <-> face-unit transform for one resolution. */
class Painter {
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
interface LayerTexture {
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
function painterFor(w: number, h: number): Painter {
  const key = `${w}x${h}`;
  let p = painters.get(key);
  if (!p) { p = new Painter(w, h); painters.set(key, p); }
  return p;
}

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

function tablesFor(id: SynthIdentity): IdentityTables {
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
function faceDist(id: SynthIdentity, jaw: Float32Array, u: number, v: number): number {
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
interface IdentityLayers {
  /** Hair behind the head, neck, ears, face skin, moles, beard, moustache, nose, eye sockets. */
  base: LayerTexture;
  /** Front hair (drawn over eyes and brows). */
  top: LayerTexture | null;
}

const LAYER_CACHE_SIZE = 8;
const layerCache: { id: SynthIdentity; res: number; layers: IdentityLayers }[] = [];

function layersFor(id: SynthIdentity, res: number): IdentityLayers {
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

/** Separable Gaussian blur of R, G, B in place (edges clamped). */
function gaussianBlur(P: Painter, sigma: number): void {
  const { w, h } = P;
  const rad = Math.min(Math.ceil(2.2 * sigma), w - 1, h - 1);
  const kernel = new Float32Array(2 * rad + 1);
  let sum = 0;
  for (let k = -rad; k <= rad; k++) { kernel[k + rad] = Math.exp((-k * k) / (2 * sigma * sigma)); sum += kernel[k + rad]; }
  for (let k = 0; k < kernel.length; k++) kernel[k] /= sum;
  const tmp = P.tmp;
  for (const ch of [P.R, P.G, P.B]) {
    for (let y = 0; y < h; y++) {
      const row = y * w;
      for (let x = 0; x < w; x++) {
        let acc = 0;
        if (x >= rad && x < w - rad) {
          for (let k = 0, o = row + x - rad; k <= 2 * rad; k++, o++) acc += kernel[k] * ch[o];
        } else {
          for (let k = -rad; k <= rad; k++) acc += kernel[k + rad] * ch[row + clamp(x + k, 0, w - 1)];
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
          for (let k = -rad; k <= rad; k++) acc += kernel[k + rad] * tmp[clamp(y + k, 0, h - 1) * w + x];
        }
        ch[y * w + x] = acc;
      }
    }
  }
}

/** Byte value -> insightface normalisation ((x / 255) - 0.5) / 0.5. */
const NORMALISED = Float32Array.from({ length: 256 }, (_, x) => (x / 255 - 0.5) / 0.5);

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
  const norm = NORMALISED;
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
