#!/usr/bin/env python3
"""Training speed of dlgn against PyTorch, side by side in one run, no real data.

Both sides train the same model (tests/ref/dlgn_torch.py is PyTorch's copy of
dlgn's models) on the same number of random 32x32 images with Adam at the same
batch size. dlgn trains on its synthetic archive; PyTorch on random tensors of
the same shape (the data does not change the arithmetic). Each side runs in a
process of its own, so its peak resident memory is its own:

  images/s  training images per second of the second epoch (the first one
            builds kernels and warms caches), median over --repeat runs
  RSS       peak resident set of the process, MiB

  /usr/bin/python3 bench/speed.py [--dlgn build/dlgn] [--models c4gap32-dlgn,...]
      [--batch 128] [--images 1280] [--repeat 3] [--device SEL] [--peer-device SEL]
      [--torch-device cpu|cuda]

On a GPU node, --torch-device cuda runs the PyTorch side on the GPU (dlgn's
--device then names the same GPU's OpenCL device, by default the first GPU).

With --peer-device the peer is dlgn itself on a second OpenCL device instead of
PyTorch, for comparing implementations on one machine, e.g. Mesa's rusticl
against PoCL:

  RUSTICL_ENABLE=llvmpipe python3 bench/speed.py --models fc-dlgn,c4gap32-dlgn \
      --device llvmpipe --peer-device pthread

PyTorch runs with 2 threads and with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset
(its best kernels). --models all lists every model; the default is the table of
the README. Timings on a shared machine are noisy: compare the ratio.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (class, arch, width, depth, value input, batch norm)
MODELS = {
    "fc-dlgn": ("dlgn", "fc", 128, 5, "ones", False),
    "fc-dnn": ("dnn", "fc", 128, 5, "image", False),
    "c4gap32-dlgn": ("dlgn", "c4gap", 32, 4, "ones", False),
    "c4gap32-dnn": ("dnn", "c4gap", 32, 4, "image", False),
    "c4gap128-dlgn": ("dlgn", "c4gap", 128, 4, "ones", False),
    "c4gap128-dnn": ("dnn", "c4gap", 128, 4, "image", False),
    "vgg16-dlgn": ("dlgn", "vgg16", 64, 13, "ones", False),
    "vgg16-dnn": ("dnn", "vgg16", 64, 13, "image", False),
    "vgg16-dlgn-bn": ("dlgn", "vgg16", 64, 13, "ones", True),
    "vgg16-dnn-bn": ("dnn", "vgg16", 64, 13, "image", True),
    # ResNet-20 with the original's batch norm
    "resnet20-dlgn": ("dlgn", "resnet", 16, 20, "ones", True),
    "resnet20-dnn": ("dnn", "resnet", 16, 20, "image", True),
}
DEFAULT = ["fc-dlgn", "fc-dnn", "c4gap32-dlgn", "c4gap32-dnn", "c4gap128-dlgn", "c4gap128-dnn"]


def cfg_of(name):
    cls, arch, width, depth, vin, bn = MODELS[name]
    return {"class": cls, "arch": arch, "width": width, "depth": depth, "value_input": vin,
            "beta": 4.0, "mode": "joint", "batchnorm": bn}


def run_measured(cmd, env=None):
    """Run cmd; return (stdout, peak RSS in MiB of that process)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {p.returncode}")
    return out, usage.ru_maxrss / 1024.0


def run_dlgn(args, cfg, images, workdir, device):
    run_dir = os.path.join(workdir, "run")
    cmd = [args.dlgn, "train", "--class", cfg["class"], "--arch", cfg["arch"], "--width",
           str(cfg["width"]), "--depth", str(cfg["depth"]), "--epochs", "2", "--batch",
           str(args.batch), "--synth-train", str(images), "--synth-test", str(args.batch),
           "--lr", "1e-3", "--no-eval-train", "--quiet", "--run-dir", run_dir]
    if cfg["class"] != "dnn":
        cmd += ["--value-input", cfg["value_input"]]
    if cfg["batchnorm"]:
        cmd.append("--batchnorm")
    if device:
        cmd += ["--device", device]
    subprocess.run(["rm", "-rf", run_dir], check=True)
    _, rss = run_measured(cmd)
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        lines = [json.loads(l) for l in f]
    return lines[-1]["images_per_s"], rss


def torch_worker(cfg, batch, images, device_name):
    """One PyTorch measurement, in this process: prints images/s of epoch 2."""
    import time

    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "ref"))
    from dlgn_torch import forward, make_params, train_gates, trainable
    torch.set_num_threads(2)
    device = torch.device(device_name)
    gen = torch.Generator().manual_seed(1)
    params = [(n, t.detach().to(device).requires_grad_(True))
              for n, t in make_params(cfg, gen, fixture_style=False)]
    opt = torch.optim.Adam([t for _, t in trainable(cfg, params)], lr=1e-3)
    gates = train_gates(cfg)
    X = torch.randint(0, 256, (images, 3, 32, 32), generator=gen, dtype=torch.uint8).to(device)
    Y = torch.randint(0, 10, (images,), generator=gen).to(device)
    ips = 0.0
    for _ in range(2):
        perm = torch.randperm(images, generator=gen).to(device)
        t0 = time.time()
        for i in range(0, images, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            x = X[idx].float() / 255.0
            F.cross_entropy(forward(cfg, params, x, gates), Y[idx]).backward()
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()  # the epoch's kernels, not only their launches
        ips = images / (time.time() - t0)
    print(json.dumps({"images_per_s": ips}))


def run_torch(args, cfg, images):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_")}
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", json.dumps(cfg),
           "--batch", str(args.batch), "--images", str(images), "--torch-device",
           args.torch_device]
    out, rss = run_measured(cmd, env)
    return json.loads(out.strip().splitlines()[-1])["images_per_s"], rss


def images_for(cfg, args):
    """Enough images for a few seconds per epoch on a 2-core CPU."""
    if args.images:
        return args.images
    big = {"fc": 12800, "c4gap": 1280 if cfg["width"] <= 32 else 256, "vgg16": 512,
           "resnet": 512}
    return max(big[cfg["arch"]] // args.batch, 2) * args.batch


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dlgn", default=os.path.join(HERE, "..", "build", "dlgn"))
    ap.add_argument("--models", default=",".join(DEFAULT),
                    help="comma-separated names, or 'all': " + ", ".join(MODELS))
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--images", type=int, default=0,
                    help="images per epoch (default: a few seconds' worth per model)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", default="", help="dlgn's --device")
    ap.add_argument("--peer-device", default="",
                    help="the peer is dlgn on this device instead of PyTorch")
    ap.add_argument("--skip-torch", action="store_true", help="dlgn only (no ratio)")
    ap.add_argument("--torch-device", default="cpu",
                    help="PyTorch's device: cpu (2 threads) or cuda (default: cpu)")
    ap.add_argument("--torch-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        torch_worker(json.loads(args.torch_worker), args.batch, args.images, args.torch_device)
        return 0
    names = list(MODELS) if args.models == "all" else args.models.split(",")
    for n in names:
        if n not in MODELS:
            ap.error(f"unknown model '{n}' (known: {', '.join(MODELS)})")
    print(f"batch {args.batch}, Adam, 32x32 random images, median of {args.repeat}; "
          f"images/s of the second epoch; RSS = peak resident MiB")
    peer = f"dlgn on {args.peer_device}" if args.peer_device else f"PyTorch ({args.torch_device})"
    print(f"dlgn on {args.device or 'the default device'} against {peer}")
    print(f"{'model':16} {'images':>6} {'dlgn img/s':>10} {'peer img/s':>11} {'ratio':>6} "
          f"{'dlgn RSS':>8} {'peer RSS':>9}", flush=True)
    with tempfile.TemporaryDirectory() as work:
        for n in names:
            cfg = cfg_of(n)
            images = images_for(cfg, args)
            ours, theirs = [], []
            for _ in range(args.repeat):  # interleaved, so that load hits both alike
                ours.append(run_dlgn(args, cfg, images, work, args.device))
                if args.peer_device:
                    theirs.append(run_dlgn(args, cfg, images, work, args.peer_device))
                elif not args.skip_torch:
                    theirs.append(run_torch(args, cfg, images))
            d = statistics.median(r[0] for r in ours)
            drss = max(r[1] for r in ours)
            if theirs:
                t = statistics.median(r[0] for r in theirs)
                trss = max(r[1] for r in theirs)
                print(f"{n:16} {images:6} {d:10.1f} {t:11.1f} {d / t:6.2f} {drss:8.0f} "
                      f"{trss:9.0f}", flush=True)
            else:
                print(f"{n:16} {images:6} {d:10.1f} {'-':>11} {'-':>6} {drss:8.0f} {'-':>9}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
