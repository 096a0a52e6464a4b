#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures of tests/test_nn_parity.c.

For each model class x {fc, c4gap, resnet} x {ones, image} at small widths,
plus vgg16 at width 2 (pooling, pooled shallow features, batch norm), a c4gap
batch-norm case and a fixed-gates case, it builds the model of the paper in
PyTorch, independently of the C code, from seeded weights and one seeded
batch, and writes: the configuration, the weights in dlgn's flat parameter
order, the batch, the logits, the loss, every gradient, and the parameters
after 3 Adam steps on the same batch.

Run with Debian's torch:  /usr/bin/python3 tests/ref/make_fixtures.py
(`make_fixtures.py resnet` writes the residual ones alone)
(fixtures are committed so that CI needs no torch).

File format (little endian), read by tests/test_nn_parity.c:
  line "DLGNFIX1"
  line "config <one-line JSON>"
  then tensors: line "tensor <name> <count>" followed by count float32,
  or line "bytes <name> <count>" followed by count uint8 (the images)
  line "end"
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

from dlgn_torch import forward, make_params, train_gates, trainable

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
N = 8          # images per batch
K = 10         # classes (dlgn_torch.K)
STEPS = 3      # optimizer steps on the same batch
LR = 1e-3


def flat(tensors):
    return torch.cat([t.detach().reshape(-1) for t in tensors])


def write(path, cfg, tensors):
    with open(path, "wb") as f:
        f.write(b"DLGNFIX1\n")
        f.write(("config " + json.dumps(cfg, sort_keys=True) + "\n").encode())
        for name, t in tensors:
            if t.dtype == torch.uint8:
                f.write(f"bytes {name} {t.numel()}\n".encode())
                f.write(t.contiguous().reshape(-1).numpy().tobytes())
                continue
            data = t.detach().float().contiguous().reshape(-1).numpy().astype("<f4").tobytes()
            f.write(f"tensor {name} {t.numel()}\n".encode())
            f.write(data)
        f.write(b"end\n")


def make_case(name, cfg, seed):
    gen = torch.Generator().manual_seed(seed)
    params = make_params(cfg, gen, fixture_style=True)
    images = torch.randint(0, 256, (N, 3, 32, 32), generator=gen, dtype=torch.int64)
    labels = torch.randint(0, K, (N,), generator=gen)
    x = images.float() / 255.0
    train = trainable(cfg, params)
    gates = train_gates(cfg)
    init = flat([t for _, t in params])

    logits = forward(cfg, params, x, gates)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    grads = flat([t.grad if t.grad is not None else torch.zeros_like(t) for _, t in params])
    for _, t in params:
        t.grad = None

    opt = torch.optim.Adam([t for _, t in train], lr=LR, betas=(0.9, 0.999), eps=1e-8)
    for _ in range(STEPS):
        opt.zero_grad()
        F.cross_entropy(forward(cfg, params, x, gates), labels).backward()
        opt.step()
    after = flat([t for _, t in params])

    cfg = dict(cfg, batch=N, num_classes=K, lr=LR, steps=STEPS, train_gates=gates)
    write(os.path.join(OUT, name + ".fix"), cfg, [
        ("params", init), ("images", images.to(torch.uint8)), ("labels", labels.float()),
        ("logits", logits), ("loss", loss.reshape(1)), ("grads", grads), ("params_after", after)])
    print(f"{name}: loss {loss.item():.5f}, {init.numel()} parameters")


def main(only=None):
    """only: "resnet" writes the residual fixtures alone."""
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    base = {"batchnorm": False, "beta": 4.0, "mode": "joint", "value_input": "image"}
    archs = {"fc": {"arch": "fc", "depth": 3, "width": 4},
             "c4gap": {"arch": "c4gap", "depth": 2, "width": 6}}
    if only == "resnet":
        resnet_cases(base)
        return
    seed = 1
    for arch, a in archs.items():
        for cls in ("dnn", "dgn", "dlgn", "dlgn-sf"):
            for vin in (("image",) if cls == "dnn" else ("ones", "image")):
                cfg = dict(base, **a, **{"class": cls, "value_input": vin})
                make_case(f"{cls}-{arch}-{vin}", cfg, seed)
                seed += 1
    make_case("dgn-c4gap-image-batchnorm",
              dict(base, **archs["c4gap"], **{"class": "dgn", "batchnorm": True}), seed)
    vgg = {"arch": "vgg16", "depth": 13, "width": 2}
    make_case("dlgn-vgg16-ones", dict(base, **vgg, **{"class": "dlgn", "value_input": "ones"}), seed + 2)
    make_case("dlgn-sf-vgg16-image", dict(base, **vgg, **{"class": "dlgn-sf"}), seed + 3)
    make_case("dgn-vgg16-image-batchnorm",
              dict(base, **vgg, **{"class": "dgn", "batchnorm": True}), seed + 4)
    make_case("dlgn-fc-ones-fixed-random",
              dict(base, **archs["fc"], **{"class": "dlgn", "value_input": "ones",
                                           "mode": "fixed-random"}), seed + 1)
    resnet_cases(base)


def resnet_cases(base):
    """ResNet-8 (a block per stage, strided shortcuts) of width 2, with the
    original's batch norm, in every class with both value inputs, and
    without batch norm for the dgn (shortcuts into unnormalised sums)."""
    rn = {"arch": "resnet", "depth": 8, "width": 2, "batchnorm": True}
    seed = 100
    for cls in ("dnn", "dgn", "dlgn", "dlgn-sf"):
        for vin in (("image",) if cls == "dnn" else ("ones", "image")):
            make_case(f"{cls}-resnet-{vin}", dict(base, **rn, **{"class": cls, "value_input": vin}), seed)
            seed += 1
    make_case("dgn-resnet-image-nobatchnorm",
              dict(base, **dict(rn, batchnorm=False), **{"class": "dgn"}), seed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
