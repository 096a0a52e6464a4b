#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures of tests/test_nn_parity.c.

For each model class x {fc, c4gap} x {ones, image} at small widths (plus a
batch-norm case and a fixed-gates case) it builds the model of SPEC.md in
PyTorch, independently of the C code, from seeded weights and one seeded
batch, and writes: the configuration, the weights in dlgn's flat parameter
order, the batch, the logits, the loss, every gradient, and the parameters
after 3 Adam steps on the same batch.

Run with Debian's torch:  /usr/bin/python3 tests/ref/make_fixtures.py
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

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
N = 8          # images per batch
K = 10         # classes
STEPS = 3      # optimizer steps on the same batch
LR = 1e-3


def layer_shapes(cfg, shallow):
    """(kind, in, out) per layer, in dlgn's order (see src/nn/model.c)."""
    shapes = []
    for l in range(cfg["depth"]):
        if cfg["arch"] == "fc":
            fan = 3072 if (shallow or l == 0) else cfg["width"]
            shapes.append(("dense", fan, cfg["width"]))
        else:
            cin = 3 if (shallow or l == 0) else cfg["width"]
            shapes.append(("conv", cin, cfg["width"]))
    return shapes


def make_params(cfg, gen):
    """Named leaf tensors in dlgn's flat order: feat.*, value.*, head.*."""
    params = []
    nets = [("feat", cfg["class"] == "dlgn-sf")]
    if cfg["class"] != "dnn":
        nets.append(("value", False))
    for prefix, shallow in nets:
        for l, (kind, cin, cout) in enumerate(layer_shapes(cfg, shallow)):
            fan = cin * (9 if kind == "conv" else 1)
            shape = (cout, cin, 3, 3) if kind == "conv" else (cout, cin)
            params.append((f"{prefix}.{l}.w", torch.randn(shape, generator=gen) * math.sqrt(2.0 / fan)))
            params.append((f"{prefix}.{l}.b", torch.randn(cout, generator=gen) * 0.1))
            if cfg["batchnorm"]:
                params.append((f"{prefix}.{l}.gamma", 1 + 0.1 * torch.randn(cout, generator=gen)))
                params.append((f"{prefix}.{l}.beta", 0.1 * torch.randn(cout, generator=gen)))
    head_in = cfg["width"]
    params.append(("head.w", torch.randn((K, head_in), generator=gen) * math.sqrt(2.0 / head_in)))
    params.append(("head.b", torch.randn(K, generator=gen) * 0.1))
    return [(n, t.float().requires_grad_(True)) for n, t in params]


def forward(cfg, p, x, gates):
    """The model of SPEC.md sections 1-3. x: (N,3,32,32) in [0,1]."""
    P = dict(p)
    conv = cfg["arch"] != "fc"
    beta = cfg["beta"]

    def linear(prefix, l, h):
        w, b = P[f"{prefix}.{l}.w"], P[f"{prefix}.{l}.b"]
        y = F.conv2d(h, w, b, padding=1) if conv else F.linear(h, w, b)
        if cfg["batchnorm"]:
            y = F.batch_norm(y, None, None, P[f"{prefix}.{l}.gamma"], P[f"{prefix}.{l}.beta"],
                             training=True, momentum=0.1, eps=1e-5)
        return y

    inp = x if conv else x.reshape(x.shape[0], -1)
    L = cfg["depth"]
    cls = cfg["class"]
    # feature (gating) network
    q, h = [], inp
    for l in range(L):
        src = inp if cls == "dlgn-sf" else h
        z = linear("feat", l, src)
        q.append(z)
        h = torch.relu(z) if cls in ("dnn", "dgn") else z
    if cls == "dnn":
        top = h
    else:
        frozen = cfg["mode"] != "joint"
        v = torch.ones_like(inp) if cfg["value_input"] == "ones" else inp
        for l in range(L):
            z = linear("value", l, v)
            g = q[l].detach() if frozen else q[l]
            G = torch.sigmoid(beta * g) if gates == "soft" else (g > 0).float()
            v = z * G
        top = v
    if conv:
        top = top.mean(dim=(2, 3))
    return F.linear(top, P["head.w"], P["head.b"])


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
    params = make_params(cfg, gen)
    images = torch.randint(0, 256, (N, 3, 32, 32), generator=gen, dtype=torch.int64)
    labels = torch.randint(0, K, (N,), generator=gen)
    x = images.float() / 255.0
    trainable = [(n, t) for n, t in params
                 if cfg["class"] == "dnn" or cfg["mode"] == "joint" or not n.startswith("feat.")]
    gates = "soft" if (cfg["class"] != "dnn" and cfg["mode"] == "joint") else "hard"
    init = flat([t for _, t in params])

    logits = forward(cfg, params, x, gates)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    grads = flat([t.grad if t.grad is not None else torch.zeros_like(t) for _, t in params])
    for _, t in params:
        t.grad = None

    opt = torch.optim.Adam([t for _, t in trainable], lr=LR, betas=(0.9, 0.999), eps=1e-8)
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


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    base = {"batchnorm": False, "beta": 4.0, "mode": "joint", "value_input": "image"}
    archs = {"fc": {"arch": "fc", "depth": 3, "width": 4},
             "c4gap": {"arch": "c4gap", "depth": 2, "width": 6}}
    seed = 1
    for arch, a in archs.items():
        for cls in ("dnn", "dgn", "dlgn", "dlgn-sf"):
            for vin in (("image",) if cls == "dnn" else ("ones", "image")):
                cfg = dict(base, **a, **{"class": cls, "value_input": vin})
                make_case(f"{cls}-{arch}-{vin}", cfg, seed)
                seed += 1
    make_case("dgn-c4gap-image-batchnorm",
              dict(base, **archs["c4gap"], **{"class": "dgn", "batchnorm": True}), seed)
    make_case("dlgn-fc-ones-fixed-random",
              dict(base, **archs["fc"], **{"class": "dlgn", "value_input": "ones",
                                           "mode": "fixed-random"}), seed + 1)


if __name__ == "__main__":
    sys.exit(main())
