/**
 * The identity and nuisance model of `synthfaces`: an identity is a continuous parameter vector (outline, eyes,
 * brows, nose, mouth, skin, hair, beard, ears, low-frequency skin texture, moles), a picture adds a per-image
 * nuisance sample (pose, scale, shift, illumination, expression, occluders, background clutter, blur, noise) whose
 * strengths all scale with one number. Both are drawn from a seeded Rng; render.ts turns them into pixels.
 *
 * - `sampleIdentity(rng)`: one identity.
 * - `sampleNuisance(rng, params)`: one picture's nuisances; `effectiveNuisance(strength, overrides)` gives the params.
 */
import { Rng } from '../../util/rng';

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

export const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);
export const mix = (a: RGB, b: RGB, t: number): RGB => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
export const scaleRgb = (a: RGB, s: number): RGB => [a[0] * s, a[1] * s, a[2] * s];

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
