#!/usr/bin/env python3
"""The paper's five claims checked against a sweep's results.csv.

  python3 bench/claims.py OUT/results.csv [--metric best_test_acc_hard]

For each architecture shape in the file (FC 5x128, C4GAP-32, ...) it prints,
as Markdown, every claim with the rows that bear on it: mean +- sample std
over seeds (in %), the difference, and a verdict at this budget:

  holds           the claim's inequality is met beyond the noise
  within noise    the difference is inside the noise band
  does not hold   the claim's inequality fails beyond the noise

The noise band of a difference of two means is 2 * sqrt(s1^2/n1 + s2^2/n2)
(about 95% for normal errors; with 3 seeds it is a rough guide, which is why
the verdict says "within noise" rather than pretending to more). A claim that
something "loses little" holds when the loss is under TOLERANCE points
(default 2), is within noise when the difference is inside the band, is
borderline when the loss is over the tolerance by less than the band, and
does not hold when the loss is over the tolerance beyond the band.

The metric defaults to the best test accuracy over the epochs with hard gates
(best_test_acc_hard), the figure the published anchor reports; --metric
test_acc_hard takes the last epoch's instead. The claims, in the words of
docs/model.md:
  1. weights trained with a constant-1 input lose little against image input,
     given learnt gates;
  2. shuffled gating masks lose little;
  3. weights retrained from scratch on frozen learnt gates reach the accuracy
     of the network the gates came from;
  4. a DLGN recovers more than 83.5% of a DNN's accuracy;
  5. accuracy falls in the interpretability order dnn >= dgn >= dlgn >=
     dlgn-sf, with fixed-random gates lowest.
"""
import argparse
import csv
import math
import statistics
import sys

ORDER = ["dnn", "dgn", "dlgn", "dlgn-sf"]


class Row:
    """One configuration's runs over seeds."""

    def __init__(self, values):
        self.values = values  # fractions
        self.n = len(values)
        self.mean = statistics.fmean(values)
        self.std = statistics.stdev(values) if self.n > 1 else 0.0

    def fmt(self):
        m = 100 * self.mean
        if self.n > 1:
            return f"{m:.2f} ± {100 * self.std:.2f} ({self.n})"
        return f"{m:.2f} ({self.n})"


def noise(a, b):
    """Half-width of the noise band of mean(b) - mean(a), in fractions."""
    if a.n < 2 or b.n < 2:
        return float("nan")
    return 2 * math.sqrt(a.std ** 2 / a.n + b.std ** 2 / b.n)


def compare(a, b):
    """(mean(a) - mean(b), its noise band, and a verdict when that settles it:
    one seed, or a difference inside the band; else None)."""
    diff = a.mean - b.mean
    band = noise(a, b)
    if math.isnan(band):
        return diff, band, "one seed: no verdict"
    if abs(diff) <= band:
        return diff, band, "within noise"
    return diff, band, None


def loses_little(base, other, tol):
    """Verdict on 'other loses little against base' (loss = base - other)."""
    loss, band, settled = compare(base, other)
    if settled:
        return settled
    if loss < 0:
        return "holds (a gain)"
    if loss <= tol:
        return f"holds (loses under {100 * tol:g} points)"
    if loss - band <= tol:
        return f"borderline (loses about {100 * tol:g} points)"
    return "does not hold"


def at_least(high, low):
    """Verdict on 'high >= low'."""
    diff, _, settled = compare(high, low)
    if settled:
        return settled
    return "holds" if diff > 0 else "does not hold"


def load(path, metric):
    groups = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r.get(metric, "") == "":
                continue
            shape = (r["arch"], int(r["depth"]), int(r["width"]), r.get("batchnorm", "false"))
            key = (r["class"], r["mode"], r["value_input"], r["shuffle_gates"])
            groups.setdefault(shape, {}).setdefault(key, []).append(float(r[metric]))
    return {s: {k: Row(v) for k, v in g.items()} for s, g in groups.items()}


def table(lines, header, rows):
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    lines.append("")


def pct(x):
    return f"{100 * x:+.2f}"


def claims_for(shape, g, tol):
    arch, depth, width, bn = shape
    lines = [f"### {arch}, depth {depth}, width {width}" + (", batch norm" if bn == "true" else ""),
             ""]
    get = g.get

    # 1. constant-1 input against image input, learnt gates (joint and frozen)
    rows = []
    for cls in ["dgn", "dlgn", "dlgn-sf"]:
        for mode in ["joint", "fixed-learnt"]:
            a, b = get((cls, mode, "image", "none")), get((cls, mode, "ones", "none"))
            if a and b:
                rows.append([cls, mode, a.fmt(), b.fmt(), pct(b.mean - a.mean),
                             f"{100 * noise(a, b):.2f}", loses_little(a, b, tol)])
    lines.append("**1. A constant-1 value input loses little against the image, given learnt "
                 "gates.**")
    lines.append("")
    if rows:
        table(lines, ["class", "mode", "image", "ones", "difference", "noise ±", "verdict"], rows)
    else:
        lines += ["(no rows)", ""]

    # 2. shuffled gates against the same frozen gates unshuffled
    rows = []
    for cls in ["dgn", "dlgn", "dlgn-sf"]:
        for vin in ["image", "ones"]:
            a = get((cls, "fixed-learnt", vin, "none"))
            for sh in ["layers", "channels"]:
                b = get((cls, "fixed-learnt", vin, sh))
                if a and b:
                    rows.append([cls, vin, sh, a.fmt(), b.fmt(), pct(b.mean - a.mean),
                                 f"{100 * noise(a, b):.2f}", loses_little(a, b, tol)])
    lines.append("**2. Shuffled gating masks lose little** (frozen learnt gates, shuffled "
                 "across layers or channels, against the same gates unshuffled).")
    lines.append("")
    if rows:
        table(lines, ["class", "value input", "shuffle", "unshuffled", "shuffled",
                      "difference", "noise ±", "verdict"], rows)
    else:
        lines += ["(no rows)", ""]

    # 3. retrained on frozen learnt gates against the gates' source network
    rows = []
    sources = {"dgn": "dnn", "dlgn": "dlgn", "dlgn-sf": "dlgn-sf"}
    for cls, src_cls in sources.items():
        for vin in ["image", "ones"]:
            src_vin = "image" if src_cls == "dnn" else vin
            a = get((src_cls, "joint", src_vin, "none"))
            b = get((cls, "fixed-learnt", vin, "none"))
            if a and b:
                rows.append([f"{src_cls} joint ({src_vin})", f"{cls} fixed-learnt ({vin})",
                             a.fmt(), b.fmt(), pct(b.mean - a.mean), f"{100 * noise(a, b):.2f}",
                             loses_little(a, b, tol)])
    lines.append("**3. Weights retrained from scratch on frozen learnt gates reach the accuracy "
                 "of the network the gates came from** (a dnn's gates make a dgn).")
    lines.append("")
    if rows:
        table(lines, ["gates from", "retrained", "source", "retrained", "difference",
                      "noise ±", "verdict"], rows)
    else:
        lines += ["(no rows)", ""]

    # 4. dlgn over dnn
    rows = []
    dnn = get(("dnn", "joint", "image", "none"))
    for vin in ["image", "ones"]:
        d = get(("dlgn", "joint", vin, "none"))
        if dnn and d:
            ratio = d.mean / dnn.mean
            # the ratio's noise from the two means' (first order)
            band = 2 * ratio * math.sqrt((d.std / d.mean) ** 2 / d.n +
                                         (dnn.std / dnn.mean) ** 2 / dnn.n) \
                if d.n > 1 and dnn.n > 1 else float("nan")
            if math.isnan(band):
                verdict = "one seed: no verdict"
            elif abs(ratio - 0.835) <= band:
                verdict = "within noise"
            else:
                verdict = "holds" if ratio > 0.835 else "does not hold"
            rows.append([f"dlgn joint ({vin})", dnn.fmt(), d.fmt(), f"{100 * ratio:.1f}%",
                         f"{100 * band:.1f}", verdict])
    lines.append("**4. A DLGN recovers more than 83.5% of a DNN's accuracy.**")
    lines.append("")
    if rows:
        table(lines, ["model", "dnn", "dlgn", "dlgn / dnn", "noise ±", "verdict"], rows)
    else:
        lines += ["(no rows)", ""]

    # 5. the interpretability order (joint, image input; then ones), and
    # fixed-random lowest within each class
    rows = []
    for vin in ["image", "ones"]:
        chain = [(c, get((c, "joint", "image" if c == "dnn" else vin, "none"))) for c in ORDER]
        chain = [(c, r) for c, r in chain if r]
        for (c1, r1), (c2, r2) in zip(chain, chain[1:]):
            rows.append([f"joint, {vin} input", f"{c1} ≥ {c2}", r1.fmt(), r2.fmt(),
                         pct(r1.mean - r2.mean), f"{100 * noise(r1, r2):.2f}", at_least(r1, r2)])
    for cls in ORDER[1:]:
        for vin in ["image", "ones"]:
            fr = get((cls, "fixed-random", vin, "none"))
            if not fr:
                continue
            for mode in ["joint", "fixed-learnt"]:
                r = get((cls, mode, vin, "none"))
                if r:
                    rows.append([f"{cls}, {vin} input", f"{mode} ≥ fixed-random", r.fmt(),
                                 fr.fmt(), pct(r.mean - fr.mean), f"{100 * noise(r, fr):.2f}",
                                 at_least(r, fr)])
    lines.append("**5. Accuracy falls in the interpretability order dnn ≥ dgn ≥ dlgn ≥ dlgn-sf, "
                 "with fixed-random gates lowest.**")
    lines.append("")
    if rows:
        table(lines, ["rows", "claim", "first", "second", "difference", "noise ±", "verdict"],
              rows)
    else:
        lines += ["(no rows)", ""]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", help="results.csv of a sweep or a merge")
    ap.add_argument("--metric", default="best_test_acc_hard",
                    help="column compared (default: best_test_acc_hard)")
    ap.add_argument("--tolerance", type=float, default=2.0,
                    help="points a 'loses little' claim may lose (default: 2)")
    args = ap.parse_args()
    try:
        groups = load(args.csv, args.metric)
    except (OSError, KeyError, ValueError) as e:
        print(f"claims.py: cannot read {args.csv}: {e}", file=sys.stderr)
        return 1
    if not groups:
        print(f"claims.py: {args.csv} has no finished runs with {args.metric}", file=sys.stderr)
        return 1
    print(f"Metric: `{args.metric}` (accuracy in %, mean ± sample std (seeds)); "
          f"'loses little' means under {args.tolerance:g} points.")
    print()
    for shape in sorted(groups):
        print("\n".join(claims_for(shape, groups[shape], args.tolerance / 100)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
