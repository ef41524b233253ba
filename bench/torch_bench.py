"""PyTorch CPU reference for `npm run bench` (never a dependency of the library).

Same bench model as bench/bench-model.ts: input 64x64x1, batch 64, conv3x3 (no bias) + BN + PReLU blocks 32 s1,
max-pool 2, 64 s1, depthwise 3x3 s2 (+ BN + PReLU), 128 s1, 128 s2, 256 s2, flatten, dropout 0.2, dense 128 (no
bias), BN1d, ArcFace (s 64, m 0.5) over 500 classes, SGD momentum 0.9, weight decay 5e-4, backbone grad-norm clip 5.
Also matmul GFLOP/s (1024x1024 float32) of numpy and torch. Prints one JSON object on stdout.
Usage: /usr/bin/python3 bench/torch_bench.py [--warmup 3] [--reps 10] [--threads 2,1]
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def summary(xs):
    s = sorted(xs)
    q = np.percentile(s, [25, 50, 75])
    return {"n": len(s), "median": float(q[1]), "min": s[0], "max": s[-1], "q1": float(q[0]), "q3": float(q[2])}


def block(cin, cout, stride, groups=1):
    return [nn.Conv2d(cin, cout, 3, stride, 1, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.PReLU(cout)]


class ArcFace(nn.Module):
    def __init__(self, emb, classes, s=64.0, m=0.5):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(emb, classes) * 0.01)
        self.s, self.m = s, m

    def forward(self, e, y):
        cos = F.normalize(e, dim=1) @ F.normalize(self.weight, dim=0)
        cos = cos.clamp(-1 + 1e-7, 1 - 1e-7)
        target = torch.cos(torch.acos(cos.gather(1, y[:, None])) + self.m)
        logits = cos.scatter(1, y[:, None], target) * self.s
        return F.cross_entropy(logits, y)


class BenchModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(
            *block(1, 32, 1), nn.MaxPool2d(2),
            *block(32, 64, 1),
            *block(64, 64, 2, groups=64),
            *block(64, 128, 1), *block(128, 128, 2), *block(128, 256, 2),
            nn.Flatten(), nn.Dropout(0.2), nn.Linear(4 * 4 * 256, 128, bias=False), nn.BatchNorm1d(128))
        self.head = ArcFace(128, 500)

    def forward(self, x, y):
        return self.head(self.backbone(x), y)


def bench_step(threads, warmup, reps, batch=64):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = BenchModel()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 1, 64, 64)
    y = torch.randint(0, 500, (batch,))
    times = []
    for i in range(warmup + reps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.backbone.parameters(), 5.0)
        opt.step()
        loss.item()
        dt = time.perf_counter() - t0
        if i >= warmup:
            times.append(dt)
    return {"threads": threads, "batch": batch, "warmup": warmup, "seconds": summary(times),
            "imgPerSec": summary([batch / t for t in times])}


def matmul(fn, n=1024, warmup=3, reps=10):
    g = []
    for i in range(warmup + reps):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        if i >= warmup:
            g.append(2 * n ** 3 / dt / 1e9)
    return summary(g)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", default="2,1")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    out = {"torch": torch.__version__, "numpy": np.__version__, "step": [], "matmul": {}}
    for t in threads:
        out["step"].append(bench_step(t, a.warmup, a.reps))
    n = 1024
    an = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    bn = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    out["matmul"]["numpy"] = matmul(lambda: an @ bn)
    at, bt = torch.from_numpy(an), torch.from_numpy(bn)
    for t in threads:
        torch.set_num_threads(t)
        out["matmul"][f"torch{t}"] = matmul(lambda: at @ bt)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
