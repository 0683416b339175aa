"""Benchmarks of the taggers: the PHAT-JeT paper's table, FLOPs, and cost scaling.

Reproduces the tables of ``docs/taggers.md``::

    python benchmarks/taggers.py flops                   # parameters and FLOPs per jet
    python benchmarks/taggers.py table --data folder --path ~/.cache/hypervae/taggers \
        --seeds 0 1 2 -o taggers_table.json              # the paper's table, 3 seeds
    python benchmarks/taggers.py table --data toy --n-train 100 --seeds 0   # smoke run
    python benchmarks/taggers.py scaling                 # time and peak memory per batch
    python benchmarks/taggers.py train-speed --heldout ~/.cache/hypervae/eval/eval  # jets/s

Table: each model is trained with ``train_tagger`` (Ranger, flat-then-decay schedule)
until the validation loss has not improved for ``--patience`` epochs (at most
``--max-epochs``; the best epoch is restored), then evaluated on the test split:
accuracy, macro ROC AUC (one vs rest), the mean over classes of the background rejection
``1/eps_b`` at 80 % signal efficiency, parameters, FLOPs per jet
(:func:`hypervae.taggers.count_flops`, 1 multiply-add = 2 FLOPs, at the data's particle
count), CPU latency per jet at batch 1 (median of ``--latency-repeats`` forward passes
after 5 warm-ups, no gradient, ``--threads`` torch threads) and throughput at batch 1024
(jets per second, median of 3). Mean +- standard deviation over the seeds.

Scaling: each (model, number of particles) point runs in a fresh subprocess; time is the
median wall time of a training step (forward + backward) over ``--repeats`` batches after
one warm-up, and memory is the increase of the process's peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) over its value just before the first step,
so it includes the autograd buffers of one step. glibc malloc settings are left at their
defaults unless ``MALLOC_*`` variables are set in the environment (printed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

MATCHED = {
    "full attention (ParT)": (
        "part",
        {
            "embed_dim": 128,
            "num_heads": 8,
            "mlp_dim": 512,
            "num_layers": 4,
            "particle_embed_dims": (128,),
            "pair_embed_dims": (32, 32),
        },
    ),
    "patch attention (PHAT-JeT)": (
        "phat",
        {"dims": (128,), "depths": (4,), "num_heads": (8,), "patch_size": 16},
    ),
}


def _toy_batch(batch: int, n_particles: int, seed: int = 0):
    from hypervae.taggers import TaggerData, toy_jets

    jets = toy_jets(batch, n_prongs=3, n_particles=n_particles, seed=seed)
    data = TaggerData.from_jets(jets, max_particles=n_particles)
    return data.p4, data.mask, torch.zeros(batch, dtype=torch.long)


def _one_point(name: str, n_particles: int, batch: int, repeats: int) -> dict:
    """Runs in a subprocess: time and peak-RSS increase of a training step."""
    from hypervae.taggers import build_tagger

    torch.manual_seed(0)
    kind, cfg = MATCHED[name]
    model = build_tagger(kind, num_classes=5, **cfg).train()
    p4, mask, labels = _toy_batch(batch, n_particles)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(p4, mask), labels)
        loss.backward()
        model.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "model": name,
        "n": n_particles,
        "seconds": statistics.median(times[1:]),
        "peak_mib": (after - before) / 1024,  # ru_maxrss is in KiB on Linux
        "params": sum(p.numel() for p in model.parameters()),
    }


def scaling(args: argparse.Namespace) -> None:
    malloc = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
    print(
        f"# batch {args.batch} jets, training step (fwd+bwd), torch threads {args.threads}, "
        f"malloc settings {malloc or 'default'}"
    )
    rows = []
    for name in MATCHED:
        for n in args.particles:
            code = (
                "import json, sys, torch; sys.path.insert(0, 'benchmarks'); "
                f"torch.set_num_threads({args.threads}); import taggers as b; "
                f"print(json.dumps(b._one_point({name!r}, {n}, {args.batch}, {args.repeats})))"
            )
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), file=sys.stderr)
    print(f"\n| model | params | {' | '.join(f'P={n}' for n in args.particles)} |")
    print(f"|---|---|{'---|' * len(args.particles)}")
    for name in MATCHED:
        sel = [r for r in rows if r["model"] == name]
        cells = [f"{r['seconds'] * 1e3:.0f} ms, {r['peak_mib']:.0f} MiB" for r in sel]
        print(f"| {name} | {sel[0]['params'] / 1e6:.2f}M | {' | '.join(cells)} |")
    for name in MATCHED:
        sel = [r for r in rows if r["model"] == name]
        t = [r["seconds"] for r in sel]
        ratio = t[-1] / t[0]
        print(
            f"# {name}: time x{ratio:.1f} for particles x{args.particles[-1] / args.particles[0]:.1f}"
        )


JET_NAMES = ["g", "q", "t", "w", "z"]
TABLE_MODELS = ["phat-jet", "transformer-small", "pointnet-small", "part-small"]
#: Published 5-class hls4ml numbers (PHAT-JeT paper) for the rows that have them.
PUBLISHED = {
    "phat-jet": "81.80 % / 0.962 / 71.6 / 6,694 / 1.31M",
    "transformer-small": "- / - / - / 4,600 / -",
    "pointnet-small": "74.2 % / - / - / 5,893 / -",
}


def _split(p4: np.ndarray, mask: np.ndarray, codes: np.ndarray, seed: int = 0):
    """70 / 10 / 20 % train / val / test split with a fixed permutation."""
    order = np.random.default_rng(seed).permutation(len(codes))
    cut = [int(0.7 * len(order)), int(0.8 * len(order))]
    parts = np.split(order, cut)
    return {
        name: _data(p4[idx], mask[idx], codes[idx])
        for name, idx in zip(("train", "val", "test"), parts, strict=True)
    }


def _heldout(path: str, n_val: int, n_test: int | None = None):
    """Validation and test jets from a ``make_eval_sets.py`` folder (``<type>.parquet``).

    The first ``n_val`` jets per type validate, the next ``n_test`` (default: all the
    rest) test: independent seeds of the same generator settings as
    ``make_tagger_data.py``.
    """
    from pathlib import Path

    from hypervae.datasets import load_parquet
    from hypervae.physics.kinematics import to_padded

    parts: dict[str, list] = {"val": [], "test": []}
    for code, t in enumerate(JET_NAMES):
        p4, mask = to_padded(
            load_parquet(Path(path).expanduser() / f"{t}.parquet"), max_particles=150
        )
        end = None if n_test is None else n_val + n_test
        for name, sl in (("val", slice(0, n_val)), ("test", slice(n_val, end))):
            parts[name].append((p4[sl], mask[sl], np.full(len(p4[sl]), code)))
    return {
        name: _data(*(np.concatenate([b[k] for b in blocks]) for k in range(3)))
        for name, blocks in parts.items()
    }


def _data(p4: np.ndarray, mask: np.ndarray, codes: np.ndarray):
    from hypervae.taggers import TaggerData

    return TaggerData(
        torch.as_tensor(p4, dtype=torch.float64),
        torch.as_tensor(mask),
        torch.as_tensor(codes, dtype=torch.long),
    )


def _table_data(args: argparse.Namespace):
    """``{"train", "val", "test"} -> TaggerData`` and the class names."""
    import awkward as ak

    from hypervae.physics.kinematics import to_padded
    from hypervae.taggers import toy_jets

    if args.data == "folder":
        sys.path.insert(0, "scripts")
        from make_tagger_data import load_tagger_data

        p4, mask, codes = load_tagger_data(args.path)
        if args.heldout:  # all generated jets train; validation and test are held out
            return {
                "train": _data(p4, mask, codes),
                **_heldout(args.heldout, args.n_val),
            }, JET_NAMES
        return _split(p4, mask, codes), JET_NAMES
    if args.data == "hls4ml":
        from hypervae.datasets.readers import read_hls4ml

        files = [read_hls4ml(p) for p in args.path.split(",")]
        p4 = np.concatenate([f.p4 for f in files])
        mask = np.concatenate([f.mask for f in files])
        codes = np.concatenate([f.target for f in files])
        return _split(p4, mask, codes), JET_NAMES
    if args.data == "sample":
        from hypervae.datasets import load_sample

        parts = {}
        for split, n in (("train", args.n_train), ("val", args.n_val), ("test", args.n_test)):
            jets = ak.concatenate([load_sample(t, split=split)[:n] for t in JET_NAMES])
            p4, mask = to_padded(jets)
            codes = ak.to_numpy(jets.jet_type).astype(np.int64)
            parts[split] = _data(p4, mask, codes)
        return parts, JET_NAMES
    # toy stand-in: five classes differing in prongs and width (not physics)
    specs = [(1, 0.05), (1, 0.03), (3, 0.03), (2, 0.03), (2, 0.02)]
    parts = {}
    for k, (split, n) in enumerate(
        (("train", args.n_train), ("val", args.n_val), ("test", args.n_test))
    ):
        jets = ak.concatenate(
            [
                toy_jets(
                    n, p, n_particles=(10, args.n_particles), width=w, jet_type=c, seed=100 * k + c
                )
                for c, (p, w) in enumerate(specs)
            ]
        )
        p4, mask = to_padded(jets, max_particles=args.n_particles)
        codes = ak.to_numpy(jets.jet_type).astype(np.int64)
        parts[split] = _data(p4, mask, codes)
    return parts, JET_NAMES


def _train(model, train, val, args: argparse.Namespace, seed: int) -> dict:
    """Trains with early stopping; returns ``{"epochs", "best_epoch", "seconds"}``."""
    from hypervae.taggers import train_tagger

    config = {
        "batch_size": args.batch,
        "lr": args.lr,
        "seed": seed,
        "max_epochs": args.max_epochs,
        "patience": args.patience,
    }
    start = time.perf_counter()
    history = train_tagger(
        model, train, val, config, callback=lambda r: print(json.dumps(r), file=sys.stderr)
    )
    losses = [r["val_loss"] for r in history]
    return {
        "epochs": len(history),
        "best_epoch": int(np.argmin(losses)),
        "val_losses": losses,
        "seconds": time.perf_counter() - start,
    }


@torch.no_grad()
def _speed(model, data, repeats: int) -> tuple[float, float]:
    """CPU latency per jet at batch 1 (ms, median) and throughput at batch 1024 (jets/s)."""
    model = model.cpu().eval()
    p4, mask = data.p4[:1], data.mask[:1]
    times = []
    for i in range(repeats + 5):
        start = time.perf_counter()
        model(p4, mask)
        if i >= 5:
            times.append(time.perf_counter() - start)
    reps = -(-1024 // len(data))
    big_p4 = data.p4.repeat(reps, 1, 1)[:1024]
    big_mask = data.mask.repeat(reps, 1)[:1024]
    model(big_p4[:64], big_mask[:64])
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        model(big_p4, big_mask)
        rates.append(1024 / (time.perf_counter() - start))
    return 1e3 * statistics.median(times), statistics.median(rates)


def _mean_std(values: list[float], fmt: str) -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.mean(values), fmt)} ± {format(statistics.stdev(values), fmt)}"


def table(args: argparse.Namespace) -> None:
    """Trains every (model, seed); each run is appended to ``--output`` (JSON lines) at once."""
    from hypervae.taggers import build_tagger, count_flops, evaluate_tagger

    parts, names = _table_data(args)
    n_particles = int(parts["test"].p4.shape[1])
    malloc = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
    setup = (
        f"data {args.data} {args.path or ''} (held out: {args.heldout or 'split'}): "
        f"{len(parts['train'])} train / {len(parts['val'])} val / {len(parts['test'])} test jets, "
        f"{n_particles} particle slots; max {args.max_epochs} epochs, patience {args.patience}, "
        f"batch {args.batch}, lr {args.lr}, torch threads {args.threads}, malloc {malloc or 'default'}"
    )
    print(f"# {setup}", file=sys.stderr)
    runs = []
    for name in args.models:
        for seed in args.seeds:
            torch.manual_seed(seed)
            model = build_tagger(name, num_classes=len(names), max_particles=n_particles)
            fit = _train(model, parts["train"], parts["val"], args, seed)
            metrics = evaluate_tagger(model, parts["test"], names)
            latency, throughput = _speed(model, parts["test"], args.latency_repeats)
            run = {
                "model": name,
                "seed": seed,
                "params": sum(p.numel() for p in model.parameters()),
                "flops": count_flops(model, n_particles),
                "setup": setup,
                **fit,
                **metrics,
                "latency_ms": latency,
                "throughput": throughput,
            }
            runs.append(run)
            if args.output:
                with open(args.output, "a") as f:
                    f.write(json.dumps(run) + "\n")
            print(json.dumps(run), file=sys.stderr)
    print_table(runs)


def print_table(runs: list[dict]) -> None:
    """The paper's table (mean +- standard deviation over seeds) from run records."""
    print(
        "| model | accuracy | macro AUC | mean R80 | params | MFLOPs/jet | CPU ms/jet (batch 1) "
        "| jets/s (batch 1024) | seeds | epochs (best) | last-epoch val-loss change "
        "| published acc / AUC / R80 / params / FLOPs |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in dict.fromkeys(r["model"] for r in runs):
        r = [x for x in runs if x["model"] == name]

        def col(key: str, r: list = r) -> list:
            return [x[key] for x in r]

        epochs = ", ".join(f"{x['epochs']} ({x['best_epoch'] + 1})" for x in r)
        # relative change of the validation loss over the last epoch: how converged
        changes = [
            f"{100 * (x['val_losses'][-1] / x['val_losses'][-2] - 1):+.2f} %"
            for x in r
            if len(x.get("val_losses", [])) > 1
        ]
        print(
            f"| {name} | {_mean_std(col('accuracy'), '.4f')} | {_mean_std(col('auc_macro'), '.4f')} "
            f"| {_mean_std(col('rejection80_mean'), '.1f')} | {r[0]['params']:,} | {r[0]['flops'] / 1e6:.2f} "
            f"| {_mean_std(col('latency_ms'), '.2f')} | {_mean_std(col('throughput'), ',.0f')} "
            f"| {len(r)} | {epochs} | {', '.join(changes) or '-'} | {PUBLISHED.get(name, '-')} |"
        )


def print_per_class(runs: list[dict]) -> None:
    """One-vs-rest AUC / background rejection at 80 % per class, mean over seeds."""
    classes = [k[4:] for k in runs[0] if k.startswith("auc_") and k != "auc_macro"]
    print(f"\n| model | {' | '.join(classes)} |")
    print("|---|" + "---|" * len(classes))
    for name in dict.fromkeys(r["model"] for r in runs):
        r = [x for x in runs if x["model"] == name]
        cells = [
            f"{statistics.mean(x[f'auc_{c}'] for x in r):.3f} / "
            f"{statistics.mean(x[f'rejection80_{c}'] for x in r):.1f}"
            for c in classes
        ]
        print(f"| {name} | {' | '.join(cells)} |")


def report(args: argparse.Namespace) -> None:
    """Prints the table from the JSON-lines files of one or more ``table`` runs."""
    runs = []
    for path in args.files:
        with open(path) as f:
            runs += [json.loads(line) for line in f if line.strip()]
    if not runs:
        msg = f"files: no runs in {args.files}"
        raise SystemExit(msg)
    for setup in dict.fromkeys(r["setup"] for r in runs):
        print(f"# {setup}")
    print_table(runs)
    print_per_class(runs)


def train_speed(args: argparse.Namespace) -> None:
    """Training throughput (one Adam step, forward + backward) and inference speed.

    On ``--heldout`` jets (the evaluation sets) or toy jets of ``--n-particles``; the
    models are untrained, which does not change their cost.
    """
    from hypervae.taggers import build_tagger

    if args.heldout:
        per_class = -(-args.batch // len(JET_NAMES))  # the first jets of every class
        data = _heldout(args.heldout, 0, per_class)["test"]
    else:
        data = _toy_data(args.batch, args.n_particles)
    n_particles = int(data.p4.shape[1])
    print(f"# batch {args.batch}, {n_particles} particle slots, torch threads {args.threads}")
    print(
        "| model | params | train jets/s | CPU-min per 100k-jet epoch | ms/jet (batch 1) | jets/s (batch 1024) |"
    )
    print("|---|---|---|---|---|---|")
    for name in args.models:
        torch.manual_seed(0)
        model = build_tagger(name, num_classes=5, max_particles=n_particles)
        opt = torch.optim.Adam(model.parameters())
        p4, mask, labels = data.p4[: args.batch], data.mask[: args.batch], data.labels[: args.batch]
        times = []
        for _ in range(args.repeats + 1):
            start = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(model(p4, mask), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - start)
        rate = len(labels) / statistics.median(times[1:])
        latency, throughput = _speed(model, data, 30)
        params = sum(p.numel() for p in model.parameters())
        print(
            f"| {name} | {params:,} | {rate:,.0f} | {1e5 / rate / 60:.1f} | {latency:.2f} "
            f"| {throughput:,.0f} |"
        )


def _toy_data(batch: int, n_particles: int):
    from hypervae.taggers import TaggerData, toy_jets

    jets = toy_jets(batch, n_prongs=3, n_particles=(n_particles // 2, n_particles), seed=0)
    return TaggerData.from_jets(jets, max_particles=n_particles)


def flops(args: argparse.Namespace) -> None:
    from hypervae.taggers import build_tagger, count_flops

    models = [
        "phat-jet",
        "phat-jet-medium",
        "phat-jet-large",
        "transformer-small",
        "pointnet-small",
        "part-small",
        "part",
    ]
    print(
        "| model | params (5 classes) | "
        + " | ".join(f"MFLOPs/jet P={n}" for n in args.particles)
        + " |"
    )
    print("|---|---|" + "---|" * len(args.particles))
    for name in models:
        model = build_tagger(name, num_classes=5, max_particles=max(args.particles))
        cells = [f"{count_flops(model, n) / 1e6:.2f}" for n in args.particles]
        params = sum(p.numel() for p in model.parameters())
        print(f"| {name} | {params:,} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("scaling")
    s.add_argument("--particles", type=int, nargs="+", default=[30, 64, 128, 256])
    s.add_argument("--batch", type=int, default=32)
    s.add_argument("--repeats", type=int, default=3)
    s.add_argument("--threads", type=int, default=1)
    s.set_defaults(func=scaling)
    f = sub.add_parser("flops")
    f.add_argument("--particles", type=int, nargs="+", default=[30, 150])
    f.add_argument("--threads", type=int, default=1)
    f.set_defaults(func=flops)
    t = sub.add_parser("table", help="train every model over seeds; the paper's table")
    t.add_argument("--data", choices=["folder", "hls4ml", "sample", "toy"], default="folder")
    t.add_argument("--path", default=None, help="folder of make_tagger_data, or hls4ml file(s) a,b")
    t.add_argument("--models", nargs="+", default=TABLE_MODELS)
    t.add_argument("--n-train", type=int, default=4000, help="toy/sample: jets per class")
    t.add_argument(
        "--n-val", type=int, default=500, help="also: held-out jets per class that validate"
    )
    t.add_argument("--n-test", type=int, default=1500)
    t.add_argument("--n-particles", type=int, default=150, help="toy: particle slots")
    t.add_argument("--max-epochs", type=int, default=100)
    t.add_argument("--patience", type=int, default=5)
    t.add_argument("--batch", type=int, default=256)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    t.add_argument("--latency-repeats", type=int, default=50)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--heldout", default=None, help="folder: eval sets for validation and test")
    t.add_argument("-o", "--output", default=None, help="JSON-lines file; each run is appended")
    t.set_defaults(func=table)
    v = sub.add_parser("train-speed", help="training and inference speed per model")
    v.add_argument("--models", nargs="+", default=[*TABLE_MODELS])
    v.add_argument("--heldout", default=None, help="folder: eval sets (else toy jets)")
    v.add_argument("--n-particles", type=int, default=150, help="toy: particle slots")
    v.add_argument("--batch", type=int, default=256)
    v.add_argument("--repeats", type=int, default=3)
    v.add_argument("--threads", type=int, default=1)
    v.set_defaults(func=train_speed)
    r = sub.add_parser("report", help="the table from the JSON-lines files of table runs")
    r.add_argument("files", nargs="+")
    r.add_argument("--threads", type=int, default=1)
    r.set_defaults(func=report)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    np.set_printoptions(precision=4)
    args.func(args)


if __name__ == "__main__":
    main()
