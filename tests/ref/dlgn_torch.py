"""The models of dlgn (the paper, arXiv 2203.16455) in PyTorch, written independently of dlgn's C code.

Used by tests/ref/make_fixtures.py (parity fixtures) and bench/vs_torch.py
(accuracy and speed against PyTorch on the same machine). Parameters are a
list of (name, tensor) in dlgn's flat order: feat.<l>.w/b[/gamma/beta],
value.<l>.*, head.w, head.b (see src/nn/model.c).
"""
import math

import torch
import torch.nn.functional as F

K = 10


VGG_STAGE = [0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
VGG_MULT = [1, 2, 4, 8, 8]


def resnet_layers(cfg, shallow):
    """The CIFAR ResNet of depth 6n+2 as (in, out, stage, stride, skip) per
    convolution: a stem, then three stages of n blocks of two convolutions;
    the second of each block adds the block's input (the output of layer
    l - 2), subsampled and zero-padded where the stage changes. Shallow
    features: one convolution per gate layer on the pooled image, no skips."""
    n = (cfg["depth"] - 2) // 6
    out, prev = [], 3
    for l in range(6 * n + 1):
        stage = 0 if l == 0 else (l - 1) // (2 * n)
        cout = cfg["width"] << stage
        first = l > 0 and (l - 1) % (2 * n) == 0
        stride = 2 if (not shallow and stage > 0 and first) else 1
        skip = l - 2 if (not shallow and l >= 2 and l % 2 == 0) else -1
        out.append((3 if (shallow or l == 0) else prev, cout, stage, stride, skip))
        prev = cout
    return out


def shortcut(x, cout, stride):
    """Option A: subsample by the stride, zero channels past x's."""
    s = x[:, :, ::stride, ::stride]
    return F.pad(s, (0, 0, 0, 0, 0, cout - s.shape[1]))


def layer_shapes(cfg, shallow):
    """(kind, in, out, stage, pool_before) per layer, in dlgn's order: vgg16
    average-pools 2x2 before the first layer of stages 2..5; shallow features
    (dlgn-sf) read the image pooled `stage` times instead."""
    if cfg["arch"] == "resnet":
        return [("conv", cin, cout, stage, False) for cin, cout, stage, _, _ in resnet_layers(cfg, shallow)]
    shapes = []
    prev = 3
    for l in range(cfg["depth"]):
        if cfg["arch"] == "fc":
            fan = 3072 if (shallow or l == 0) else cfg["width"]
            shapes.append(("dense", fan, cfg["width"], 0, False))
            continue
        stage = VGG_STAGE[l] if cfg["arch"] == "vgg16" else 0
        cout = cfg["width"] * (VGG_MULT[stage] if cfg["arch"] == "vgg16" else 1)
        pool = cfg["arch"] == "vgg16" and l > 0 and VGG_STAGE[l] != VGG_STAGE[l - 1]
        shapes.append(("conv", 3 if (shallow or l == 0) else prev, cout, stage, pool and not shallow))
        prev = cout
    return shapes


def nets(cfg):
    out = [("feat", cfg["class"] == "dlgn-sf")]
    if cfg["class"] != "dnn":
        out.append(("value", False))
    return out


def make_params(cfg, gen, fixture_style):
    """fixture_style: random biases and batch-norm affine (exercise every
    path); otherwise dlgn's own initialisation: He-normal with gain sqrt(2)
    (1 in linear gating networks), zero biases, gamma 1, beta 0."""
    params = []
    linear_gating = cfg["class"] in ("dlgn", "dlgn-sf")
    for prefix, shallow in nets(cfg):
        gain = 1.0 if (prefix == "feat" and linear_gating and not fixture_style) else 2.0
        for l, (kind, cin, cout, _, _) in enumerate(layer_shapes(cfg, shallow)):
            fan = cin * (9 if kind == "conv" else 1)
            shape = (cout, cin, 3, 3) if kind == "conv" else (cout, cin)
            params.append((f"{prefix}.{l}.w", torch.randn(shape, generator=gen) * math.sqrt(gain / fan)))
            b = torch.randn(cout, generator=gen) * 0.1 if fixture_style else torch.zeros(cout)
            params.append((f"{prefix}.{l}.b", b))
            if cfg["batchnorm"]:
                g = 1 + 0.1 * torch.randn(cout, generator=gen) if fixture_style else torch.ones(cout)
                be = 0.1 * torch.randn(cout, generator=gen) if fixture_style else torch.zeros(cout)
                params.append((f"{prefix}.{l}.gamma", g))
                params.append((f"{prefix}.{l}.beta", be))
    head_in = layer_shapes(cfg, False)[-1][2]
    params.append(("head.w", torch.randn((K, head_in), generator=gen) * math.sqrt(2.0 / head_in)))
    b = torch.randn(K, generator=gen) * 0.1 if fixture_style else torch.zeros(K)
    params.append(("head.b", b))
    return [(n, t.float().requires_grad_(True)) for n, t in params]


def trainable(cfg, params):
    return [(n, t) for n, t in params
            if cfg["class"] == "dnn" or cfg["mode"] == "joint" or not n.startswith("feat.")]


def train_gates(cfg):
    return "soft" if (cfg["class"] != "dnn" and cfg["mode"] == "joint") else "hard"


def forward(cfg, p, x, gates, training=True):
    """x: (N,3,32,32), already normalised. Batch norm (if any) uses batch
    statistics (training) — the fixtures and benchmarks never evaluate it."""
    P = dict(p)
    conv = cfg["arch"] != "fc"
    beta = cfg["beta"]

    def linear(prefix, l, h, stride=1):
        w, b = P[f"{prefix}.{l}.w"], P[f"{prefix}.{l}.b"]
        y = F.conv2d(h, w, b, stride=stride, padding=1) if conv else F.linear(h, w, b)
        if cfg["batchnorm"]:
            y = F.batch_norm(y, None, None, P[f"{prefix}.{l}.gamma"], P[f"{prefix}.{l}.beta"],
                             training=True, momentum=0.1, eps=1e-5)
        return y

    inp = x if conv else x.reshape(x.shape[0], -1)
    cls = cfg["class"]
    if cfg["arch"] == "resnet":
        return resnet_forward(cfg, P, inp, gates, linear)
    shapes = layer_shapes(cfg, cls == "dlgn-sf")
    vshapes = layer_shapes(cfg, False)
    pooled = [inp]  # the image pooled s times, for shallow features
    for _ in range(4):
        pooled.append(F.avg_pool2d(pooled[-1], 2) if conv else inp)
    q, h = [], inp
    for l, (_, _, _, stage, pool) in enumerate(shapes):
        if cls == "dlgn-sf":
            src = pooled[stage]
        else:
            src = F.avg_pool2d(h, 2) if pool else h
        z = linear("feat", l, src)
        q.append(z)
        h = torch.relu(z) if cls in ("dnn", "dgn") else z
    if cls == "dnn":
        top = h
    else:
        frozen = cfg["mode"] != "joint"
        v = torch.ones_like(inp) if cfg["value_input"] == "ones" else inp
        for l, (_, _, _, _, pool) in enumerate(vshapes):
            z = linear("value", l, F.avg_pool2d(v, 2) if pool else v)
            g = q[l].detach() if frozen else q[l]
            G = torch.sigmoid(beta * g) if gates == "soft" else (g > 0).float()
            v = z * G
        top = v
    if conv:
        top = top.mean(dim=(2, 3))
    return F.linear(top, P["head.w"], P["head.b"])


def resnet_forward(cfg, P, inp, gates, linear):
    """Every network of the residual classes: the block's input joins the
    branch before the gate (or ReLU), as in the ReLU ResNet; the linear
    gating network adds it to its linear output."""
    cls, beta = cfg["class"], cfg["beta"]
    wiring = resnet_layers(cfg, cls == "dlgn-sf")
    pooled = [inp, F.avg_pool2d(inp, 2), F.avg_pool2d(inp, 4)]
    q, outs, h = [], [], inp
    for l, (_, cout, stage, stride, skip) in enumerate(wiring):
        z = linear("feat", l, pooled[stage] if cls == "dlgn-sf" else h, stride)
        if skip >= 0:
            z = z + shortcut(outs[skip], cout, outs[skip].shape[2] // z.shape[2])
        q.append(z)
        h = torch.relu(z) if cls in ("dnn", "dgn") else z
        outs.append(h)
    if cls == "dnn":
        top = h
    else:
        frozen = cfg["mode"] != "joint"
        v = torch.ones_like(inp) if cfg["value_input"] == "ones" else inp
        vouts = []
        for l, (_, cout, _, stride, skip) in enumerate(resnet_layers(cfg, False)):
            z = linear("value", l, v, stride)
            if skip >= 0:
                z = z + shortcut(vouts[skip], cout, vouts[skip].shape[2] // z.shape[2])
            g = q[l].detach() if frozen else q[l]
            G = torch.sigmoid(beta * g) if gates == "soft" else (g > 0).float()
            v = z * G
            vouts.append(v)
        top = v
    return F.linear(top.mean(dim=(2, 3)), P["head.w"], P["head.b"])
