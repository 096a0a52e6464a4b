#!/usr/bin/env python3
"""dlgn against PyTorch on the same machine, same configurations (issue 4).

FC 5x128, Adam 1e-3, batch 128, 5 epochs, inputs x/255, no augmentation: every
class with ones and with image input, mean over 3 seeds, in dlgn and in
PyTorch (same model definitions: tests/ref/dlgn_torch.py, same initialisation
scheme). dlgn's test accuracy must be within 2 points of PyTorch's for every
configuration. Then C4GAP width 32, 1 epoch over all 50000 images, the same
seeds: the same comparison plus the training images/s of both and their ratio
(about 6 minutes per gated configuration and seed on 2 CPU cores).

  /usr/bin/python3 bench/vs_torch.py --dlgn build/dlgn \
      --data ../shared/datasets/cifar-10-binary.tar.gz [--seeds 3] [--only fc|c4gap]

PyTorch runs with 2 threads and with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset
(its best kernels on this CPU); timings on a shared machine are noisy.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))

CONFIGS = [("dnn", "image"), ("dgn", "ones"), ("dgn", "image"), ("dlgn", "ones"),
           ("dlgn", "image"), ("dlgn-sf", "ones"), ("dlgn-sf", "image")]


def load_cifar10(path):
    train, test = [], []
    with tarfile.open(path) as tar:
        for m in tar.getmembers():
            name = os.path.basename(m.name)
            if name.startswith("data_batch_") or name == "test_batch.bin":
                raw = np.frombuffer(tar.extractfile(m).read(), np.uint8).reshape(-1, 3073)
                (test if name == "test_batch.bin" else train).append((name, raw))
    train.sort()
    tr = np.concatenate([r for _, r in train])
    te = test[0][1]
    return (tr[:, 1:].reshape(-1, 3, 32, 32), tr[:, 0].astype(np.int64),
            te[:, 1:].reshape(-1, 3, 32, 32), te[:, 0].astype(np.int64))


def run_torch(cfg, data, epochs, batch, seed, train_limit):
    import torch
    import torch.nn.functional as F
    from dlgn_torch import forward, make_params, train_gates, trainable
    torch.set_num_threads(2)
    xtr, ytr, xte, yte = data
    if train_limit:
        xtr, ytr = xtr[:train_limit], ytr[:train_limit]
    gen = torch.Generator().manual_seed(seed)
    params = make_params(cfg, gen, fixture_style=False)
    opt = torch.optim.Adam([t for _, t in trainable(cfg, params)], lr=1e-3)
    gates = train_gates(cfg)
    Xtr = torch.from_numpy(xtr.astype(np.float32) / 255.0)
    Ytr = torch.from_numpy(ytr)
    n = len(Ytr)
    t0 = time.time()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            F.cross_entropy(forward(cfg, params, Xtr[idx], gates), Ytr[idx]).backward()
            opt.step()
    seconds = time.time() - t0
    acc = {}
    with torch.no_grad():
        Xte = torch.from_numpy(xte.astype(np.float32) / 255.0)
        Yte = torch.from_numpy(yte)
        for g in ("soft", "hard"):
            correct = 0
            for i in range(0, len(Yte), 500):
                correct += (forward(cfg, params, Xte[i:i + 500], g).argmax(1) == Yte[i:i + 500]).sum().item()
            acc[g] = correct / len(Yte)
    return acc["soft"], acc["hard"], n * epochs / seconds


def run_dlgn(binary, data_path, cfg, epochs, batch, seed, train_limit, workdir):
    run_dir = os.path.join(workdir, f"{cfg['class']}-{cfg['arch']}-{cfg['value_input']}-{seed}")
    cmd = [binary, "train", "--data", data_path, "--class", cfg["class"], "--arch", cfg["arch"],
           "--width", str(cfg["width"]), "--depth", str(cfg["depth"]), "--value-input",
           cfg["value_input"], "--epochs", str(epochs), "--batch", str(batch), "--seed", str(seed),
           "--lr", "1e-3", "--normalize", "unit", "--no-eval-train", "--quiet", "--run-dir", run_dir]
    if train_limit:
        cmd += ["--train-limit", str(train_limit)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(run_dir, "summary.json")) as f:
        s = json.load(f)["final"]
    # training throughput: images over the training seconds of all epochs
    lines = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    ips = sum(l["images_per_s"] * l["seconds"] for l in lines) / sum(l["seconds"] for l in lines)
    return s["test_acc_soft"], s["test_acc_hard"], ips


def compare(args, data, configs, arch, width, depth, epochs, seeds, train_limit, workdir):
    print(f"\n{arch} depth {depth} width {width}, Adam 1e-3, batch 128, {epochs} epoch(s), x/255, "
          f"seeds {seeds}" + (f", first {train_limit} training images" if train_limit else ""))
    print(f"{'class':8} {'value':6} {'dlgn soft':>9} {'dlgn hard':>9} {'torch soft':>10} "
          f"{'torch hard':>10} {'diff':>6} {'dlgn img/s':>10} {'torch img/s':>11} {'ratio':>6}  ok")
    all_ok = True
    for cls, vin in configs:
        cfg = {"class": cls, "arch": arch, "width": width, "depth": depth, "value_input": vin,
               "beta": 4.0, "mode": "joint", "batchnorm": False}
        ours = [run_dlgn(args.dlgn, args.data, cfg, epochs, 128, s, train_limit, workdir) for s in seeds]
        theirs = [run_torch(cfg, data, epochs, 128, s, train_limit) for s in seeds]
        m = lambda rows, i: statistics.mean(r[i] for r in rows)
        diff = max(abs(m(ours, 0) - m(theirs, 0)), abs(m(ours, 1) - m(theirs, 1)))
        ok = diff <= 0.02
        all_ok &= ok
        print(f"{cls:8} {vin:6} {100*m(ours,0):9.2f} {100*m(ours,1):9.2f} {100*m(theirs,0):10.2f} "
              f"{100*m(theirs,1):10.2f} {100*diff:6.2f} {m(ours,2):10.0f} {m(theirs,2):11.0f} "
              f"{m(ours,2)/m(theirs,2):6.2f}  {'yes' if ok else 'NO'}", flush=True)
        if len(seeds) > 1:  # the spread behind the means
            per = lambda rows, i: " ".join(f"{100*r[i]:.2f}" for r in rows)
            print(f"{'':15} per seed, soft: dlgn {per(ours, 0)} | torch {per(theirs, 0)}; "
                  f"hard: dlgn {per(ours, 1)} | torch {per(theirs, 1)}", flush=True)
    return all_ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dlgn", default="build/dlgn")
    ap.add_argument("--data", default="../shared/datasets/cifar-10-binary.tar.gz")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", choices=["fc", "c4gap"])
    ap.add_argument("--configs", help="comma-separated class:value pairs (default: all seven)")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--c4gap-train-limit", type=int, default=0,
                    help="C4GAP: first N training images only (default: all 50000)")
    args = ap.parse_args()
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if k in os.environ:  # the peer gets its best kernels: re-exec without them
            env = {a: b for a, b in os.environ.items() if not a.startswith("OPENBLAS_")}
            os.execve(sys.executable, [sys.executable] + sys.argv, env)
    if not os.path.exists(args.data):
        print(f"no CIFAR-10 archive at {args.data}: nothing to compare")
        return 0
    data = load_cifar10(args.data)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    configs = [tuple(c.split(":")) for c in args.configs.split(",")] if args.configs else CONFIGS
    ok = True
    with tempfile.TemporaryDirectory() as work:
        if args.only in (None, "fc"):
            ok &= compare(args, data, configs, "fc", 128, 5, 5, seeds, 0, work)
        if args.only in (None, "c4gap"):
            ok &= compare(args, data, configs, "c4gap", 32, 4, 1, seeds, args.c4gap_train_limit, work)
    print("\nall within 2 points" if ok else "\nSOME CONFIGURATIONS DIFFER BY MORE THAN 2 POINTS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
