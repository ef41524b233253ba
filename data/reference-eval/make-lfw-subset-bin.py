"""Writes an insightface-style verification .bin from skimage's 100 unnamed 25x25 LFW face crops.

Genuine ("same") pair = the SAME photo twice, the second (or both) under a random mild nuisance: affine (shift up
to 2 px, scale 0.9-1.1, rotation up to 6 degrees, edge-replicated) and photometric (gamma 0.8-1.25, contrast
0.85-1.15, brightness +-0.05, Gaussian noise sigma 0.02). Impostor ("different") pair = two DIFFERENT photos (both
with nuisance); the crops are unnamed, so an impostor pair may show the same person in another photo.
So this measures robustness to nuisance vs. separation of different face photos, not identity verification.
Layout: 10 folds x (20 same + 20 different) = 400 pairs, 800 PNG images (grey, 25x25), pickle protocol 4.
"""
import io, pickle, sys
import numpy as np
from PIL import Image
import skimage, os

src = os.path.join(os.path.dirname(skimage.__file__), 'data', 'lfw_subset.npy')
faces = np.load(src)[:100]  # the first 100 are faces, the other 100 non-faces
rng = np.random.default_rng(20240607)

def nuisance(img):
    a = np.deg2rad(rng.uniform(-6, 6)); s = rng.uniform(0.9, 1.1)
    dx, dy = rng.integers(-2, 3, size=2)
    c = 12.0  # centre of 25x25
    # inverse map output -> input for PIL's AFFINE: x_in = a*x + b*y + c0, y_in = d*x + e*y + f0
    ca, sa = np.cos(a) / s, np.sin(a) / s
    coeffs = (ca, sa, c - ca * (c + dx) - sa * (c + dy), -sa, ca, c + sa * (c + dx) - ca * (c + dy))
    pad = np.pad(img, 8, mode='edge')
    pim = Image.fromarray((pad * 255).astype(np.float32), mode='F')
    coeffs_p = (coeffs[0], coeffs[1], coeffs[2] + 8 - 0, coeffs[3], coeffs[4], coeffs[5] + 8)
    out = np.asarray(pim.transform((25, 25), Image.AFFINE, coeffs_p, resample=Image.BILINEAR)) / 255.0
    g = np.exp(rng.uniform(np.log(0.8), np.log(1.25)))
    out = np.clip(out, 0, 1) ** g
    out = (out - 0.5) * rng.uniform(0.85, 1.15) + 0.5 + rng.uniform(-0.05, 0.05)
    out = out + rng.normal(0, 0.02, out.shape)
    return np.clip(out, 0, 1)

def png(img):
    b = io.BytesIO(); Image.fromarray(np.round(img * 255).astype(np.uint8), mode='L').save(b, format='PNG'); return b.getvalue()

n = len(faces)
same = [(i, True) for i in range(n)] + [(i, False) for i in range(n)]  # round 1: original vs nuisance; round 2: both nuisance
rng.shuffle(same)
diff = []
for k in range(2 * n):
    i = k % n; j = int(rng.integers(0, n - 1)); j = j + 1 if j >= i else j
    diff.append((i, j))
rng.shuffle(diff)
bins, issame = [], []
P = 20
for f in range(10):
    for i, keep in same[f * P:(f + 1) * P]:
        bins += [png(faces[i] if keep else nuisance(faces[i])), png(nuisance(faces[i]))]; issame.append(True)
    for i, j in diff[f * P:(f + 1) * P]:
        bins += [png(nuisance(faces[i])), png(nuisance(faces[j]))]; issame.append(False)
out = sys.argv[1] if len(sys.argv) > 1 else 'lfw_subset_nuisance.bin'
with open(out, 'wb') as fh:
    pickle.dump((bins, issame), fh, protocol=4)
print(f'{out}: {len(bins)} images, {len(issame)} pairs ({sum(issame)} same)')
