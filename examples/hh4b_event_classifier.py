"""Jet-free event classifier for resonant X -> h1 h2 -> b b b b against QCD and t tbar.

All visible particles of an event (up to 256, leading in pT) form ONE particle stream
for a :class:`hypervae.taggers.ParticleTransformer` (``--model part``, full attention:
cost grows as 256^2 per layer) or a PHAT-JeT (``--model phat``, the ``phat-jet-large``
preset with patch attention, whose cost is close to linear in the number of particles;
its geometric grid spans the whole event, |d eta|, |d phi| < 3.2); no jets are clustered. The classes
are the signal split into bins of (m_h1, m_h2) plus one class per background. From the
per-class posteriors:

* the discriminant ``D = sum_signal p / (sum_signal p + sum_background p)`` sums over all
  mass bins, so it does not prefer any (m_h1, m_h2): a cut on it sculpts the background
  mass distribution much less than a classifier trained on one mass point would;
* the mass estimate is the posterior-weighted mean of the signal bin centres.

It reports the ROC AUC of D against QCD and against t tbar separately, the mass-bin
confusion matrix of the signal (true bin against the most probable signal bin), and how
much a cut on D at 50 % signal efficiency sculpts the background's estimated
(m_h1, m_h2): the Jensen-Shannon divergence (base 2, 0 = identical, 1 = disjoint) between
the background's histograms over the signal bins before and after the cut. The estimate
is itself a classifier output, so this measures how much the cut moves the background
towards particular mass bins of the classifier, not a sculpting of an independent mass
reconstruction.

Events come from Pythia 8 (``pip install 'hypervae[pythia]'``; X = H2 (id 35) decaying to
h (25, mass m_h1) and A (36, mass m_h2), both forced to b bbar, against ``HardQCD:all``
and t tbar), or from a fast toy generator (``--toy``: the same decay chain with each b
replaced by a spray of massless particles; backgrounds are 4 or 6 random sprays).

    python examples/hh4b_event_classifier.py --toy               # minutes on a CPU
    python examples/hh4b_event_classifier.py --toy --model phat  # patch attention
    python examples/hh4b_event_classifier.py --events 2000       # Pythia (slow)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from hypervae.datasets.events import (
    HH4B_BACKGROUNDS,
    HH4B_MASS_EDGES,
    HH4B_SIGNAL_BINS,
    generate_events,
)
from hypervae.taggers import (
    ParticleTransformer,
    TaggerData,
    build_tagger,
    roc_auc,
    train_tagger,
)

EDGES = np.asarray(HH4B_MASS_EDGES)  # GeV, per axis
CENTRES = 0.5 * (EDGES[1:] + EDGES[:-1])
# (i1, i2) with m_h1 >= m_h2: the two Higgs candidates are not labelled, so only the
# ordered pair of masses is observable
SIGNAL_BINS = list(HH4B_SIGNAL_BINS)
BACKGROUNDS = HH4B_BACKGROUNDS
N_MAX = 256


def _boost(p4: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Boosts ``p4[..., 4]`` (E, px, py, pz) by velocity ``beta[..., 3]``."""
    b2 = np.sum(beta**2, -1, keepdims=True)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p4[..., 1:], -1, keepdims=True)
    energy = gamma * (p4[..., :1] + bp)
    coeff = np.where(b2 > 0, (gamma - 1.0) * bp / np.where(b2 > 0, b2, 1.0), 0.0)
    return np.concatenate([energy, p4[..., 1:] + coeff * beta + gamma * p4[..., :1] * beta], -1)


def _two_body(mass: np.ndarray, m1: np.ndarray, m2: np.ndarray, rng) -> tuple[np.ndarray, ...]:
    """Isotropic decays at rest: four-momenta of the two daughters, shape ``[N, 4]``."""
    p = np.sqrt((mass**2 - (m1 + m2) ** 2) * (mass**2 - (m1 - m2) ** 2)) / (2 * mass)
    cos, phi = rng.uniform(-1, 1, mass.shape), rng.uniform(-np.pi, np.pi, mass.shape)
    sin = np.sqrt(1 - cos**2)
    direction = np.stack([sin * np.cos(phi), sin * np.sin(phi), cos], -1)
    d1 = np.concatenate([np.sqrt(p**2 + m1**2)[:, None], p[:, None] * direction], -1)
    d2 = np.concatenate([np.sqrt(p**2 + m2**2)[:, None], -p[:, None] * direction], -1)
    return d1, d2


def _spray(partons: np.ndarray, n_per: int, rng) -> np.ndarray:
    """Splits each massless parton ``[N, k, 4]`` into ``n_per`` nearly collinear particles."""
    n, k, _ = partons.shape
    frac = rng.dirichlet(np.ones(n_per), size=(n, k))
    pt = np.hypot(partons[..., 1], partons[..., 2])
    eta = np.arcsinh(partons[..., 3] / pt)
    phi = np.arctan2(partons[..., 2], partons[..., 1])
    eta = eta[..., None] + 0.05 * rng.normal(size=frac.shape)
    phi = phi[..., None] + 0.05 * rng.normal(size=frac.shape)
    pt = pt[..., None] * frac
    p4 = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], -1)
    return p4.reshape(n, k * n_per, 4)


def toy_events(process: str, n: int, rng, m_x: float = 500.0, masses=(125.0, 125.0)):
    """Toy events ``(p4[N, P, 4], mask[N, P])`` for ``"signal"``, ``"qcd"`` or ``"ttbar"``."""
    if process == "signal":
        m1 = np.full(n, masses[0])
        m2 = np.full(n, masses[1])
        h1, h2 = _two_body(np.full(n, m_x), m1, m2, rng)
        zero = np.zeros(n)
        b = [*_two_body(m1, zero, zero, rng), *_two_body(m2, zero, zero, rng)]
        partons = np.stack(
            [_boost(b[0], h1[:, 1:] / h1[:, :1]), _boost(b[1], h1[:, 1:] / h1[:, :1]),
             _boost(b[2], h2[:, 1:] / h2[:, :1]), _boost(b[3], h2[:, 1:] / h2[:, :1])], 1
        )  # fmt: skip
        # move the system along the beam and sideways so the event is not at rest
        beta = np.concatenate([rng.normal(0, 0.1, (n, 2)), rng.uniform(-0.6, 0.6, (n, 1))], 1)
        partons = _boost(partons, np.repeat(beta[:, None], 4, 1))
    else:
        k = 4 if process == "qcd" else 6
        energy = rng.exponential(120.0, (n, k)) + 30.0
        cos, phi = rng.uniform(-0.9, 0.9, (n, k)), rng.uniform(-np.pi, np.pi, (n, k))
        sin = np.sqrt(1 - cos**2)
        partons = energy[..., None] * np.stack(
            [np.ones_like(cos), sin * np.cos(phi), sin * np.sin(phi), cos], -1
        )
    p4 = _spray(partons, 8, rng)
    order = np.argsort(-np.hypot(p4[..., 1], p4[..., 2]), axis=1)
    p4 = np.take_along_axis(p4, order[..., None], 1)[:, :N_MAX]
    return p4, np.ones(p4.shape[:2], dtype=bool)


def pythia_events(process: str, n: int, seed: int, m_x: float = 500.0, masses=(125.0, 125.0)):
    """Pythia 8 events (:func:`hypervae.datasets.events.generate_events`, 256 particles)."""
    return generate_events(process, n, seed, m_x, masses, max_particles=N_MAX)


def build_dataset(n_per_class: int, toy: bool, seed: int) -> tuple[TaggerData, np.ndarray]:
    """All classes; returns the data and the true (m_h1, m_h2) per event (NaN: background)."""
    rng = np.random.default_rng(seed)
    blocks, labels, truth = [], [], []
    for c, (i1, i2) in enumerate(SIGNAL_BINS):
        draw = (rng.uniform(EDGES[i1], EDGES[i1 + 1]), rng.uniform(EDGES[i2], EDGES[i2 + 1]))
        masses = (max(draw), min(draw))
        gen = toy_events("signal", n_per_class, rng, masses=masses) if toy else pythia_events(
            "signal", n_per_class, seed + c, masses=masses)  # fmt: skip
        blocks.append(gen)
        labels += [c] * n_per_class
        truth += [masses] * n_per_class
    for k, name in enumerate(BACKGROUNDS):
        n_bkg = n_per_class * len(SIGNAL_BINS) // len(BACKGROUNDS)
        gen = toy_events(name, n_bkg, rng) if toy else pythia_events(name, n_bkg, seed + 100 + k)
        blocks.append(gen)
        labels += [len(SIGNAL_BINS) + k] * n_bkg
        truth += [(np.nan, np.nan)] * n_bkg
    size = max(b[0].shape[1] for b in blocks)
    p4 = np.concatenate([np.pad(b[0], ((0, 0), (0, size - b[0].shape[1]), (0, 0))) for b in blocks])
    mask = np.concatenate([np.pad(b[1], ((0, 0), (0, size - b[1].shape[1]))) for b in blocks])
    data = TaggerData(torch.as_tensor(p4), torch.as_tensor(mask), torch.as_tensor(labels))
    return data, np.asarray(truth)


def interpret(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mass-decorrelated discriminant ``D[N]`` and mass estimate ``[N, 2]`` from posteriors."""
    n_sig = len(SIGNAL_BINS)
    p_sig, p_bkg = probs[:, :n_sig], probs[:, n_sig:]
    disc = p_sig.sum(1) / (p_sig.sum(1) + p_bkg.sum(1))
    centres = np.array([(CENTRES[i1], CENTRES[i2]) for i1, i2 in SIGNAL_BINS])
    weights = p_sig / np.maximum(p_sig.sum(1, keepdims=True), 1e-12)
    return disc, weights @ centres


def confusion(true_bin: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Rows: true signal bin; columns: most probable signal bin; each row sums to one."""
    n_sig = len(SIGNAL_BINS)
    guess = probs[:, :n_sig].argmax(1)
    matrix = np.zeros((n_sig, n_sig))
    np.add.at(matrix, (true_bin, guess), 1.0)
    return matrix / np.maximum(matrix.sum(1, keepdims=True), 1.0)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits of two histograms (normalised here)."""
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        keep = a > 0
        return float(np.sum(a[keep] * np.log2(a[keep] / m[keep])))

    return 0.5 * kl(p) + 0.5 * kl(q)


def sculpting(disc: np.ndarray, probs: np.ndarray, is_sig: np.ndarray, efficiency: float = 0.5):
    """JSD of the background's most probable signal bin before / after a cut on D.

    The cut keeps the fraction ``efficiency`` of the signal. Returns ``(jsd, background
    efficiency)``.
    """
    cut = np.quantile(disc[is_sig], 1.0 - efficiency)
    bins = probs[~is_sig, : len(SIGNAL_BINS)].argmax(1)
    kept = disc[~is_sig] >= cut
    before = np.bincount(bins, minlength=len(SIGNAL_BINS)).astype(float)
    after = np.bincount(bins[kept], minlength=len(SIGNAL_BINS)).astype(float)
    if after.sum() == 0:
        return float("nan"), 0.0
    return jensen_shannon(before, after), float(kept.mean())


def dijet_masses(p4: np.ndarray, mask: np.ndarray, radius: float = 0.4, min_pt: float = 20.0):
    """(m_h1, m_h2) reconstructed without the classifier, the classic 4b way.

    Anti-kT jets of radius ``radius`` (FastJet, the ``pythia`` extra) with pT > ``min_pt``
    GeV from the event's particles; the four leading jets are paired into two Higgs
    candidates minimising ``|m_a - m_b|``, ordered ``m_h1 >= m_h2``. NaN for events with
    fewer than four jets. Returns ``[N, 2]`` in GeV, or ``None`` without FastJet.
    """
    try:
        import fastjet
    except ImportError:
        return None
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    out = np.full((len(p4), 2), np.nan)
    pairings = [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]
    for i in range(len(p4)):
        parts = [fastjet.PseudoJet(px, py, pz, e) for e, px, py, pz in p4[i][mask[i]].tolist()]
        jets = fastjet.ClusterSequence(parts, jet_def).inclusive_jets(min_pt)
        if len(jets) < 4:
            continue
        lead = sorted(jets, key=lambda j: -j.pt())[:4]
        vec = np.array([[j.e(), j.px(), j.py(), j.pz()] for j in lead])
        best = None
        for a, b in pairings:
            ma, mb = (
                np.sqrt(max(0.0, v[0] ** 2 - v[1:] @ v[1:]))
                for v in (vec[list(a)].sum(0), vec[list(b)].sum(0))
            )
            if best is None or abs(ma - mb) < abs(best[0] - best[1]):
                best = (ma, mb)
        out[i] = max(best), min(best)
    return out


def mass_sculpting(disc, masses, is_sig, efficiency: float = 0.5, seed: int = 0):
    """JSD (bits) of the background's reconstructed (m_h1, m_h2) before / after a cut on D.

    2D histogram with 25 GeV bins up to 250 GeV (overflow in the last bins); the cut keeps
    ``efficiency`` of the signal. Returns ``(jsd, jsd of a random background subset of the
    same size, events kept)``: the second number is the statistical floor of the first.
    """
    cut = np.quantile(disc[is_sig], 1.0 - efficiency)
    bkg = masses[~is_sig]
    ok = np.isfinite(bkg).all(1)
    kept = (disc[~is_sig] >= cut) & ok
    edges = np.arange(0.0, 275.0, 25.0)

    def hist(m):
        h, _, _ = np.histogram2d(*np.clip(m, 0, edges[-1] - 1e-6).T, bins=[edges, edges])
        return h.ravel()

    rng = np.random.default_rng(seed)
    before = bkg[ok]
    if kept.sum() == 0:
        return float("nan"), float("nan"), 0
    random = before[rng.choice(len(before), size=int(kept.sum()), replace=False)]
    return (jensen_shannon(hist(before), hist(bkg[kept])),
            jensen_shannon(hist(before), hist(random)), int(kept.sum()))  # fmt: skip


def make_model(name: str) -> torch.nn.Module:
    """``part``: ParT 3 x 64 with pair bias; ``phat``/``phat-medium``: PHAT-JeT large/medium
    over the whole event (patch attention)."""
    n_classes = len(SIGNAL_BINS) + len(BACKGROUNDS)
    if name.startswith("phat"):
        preset = "phat-jet-medium" if name == "phat-medium" else "phat-jet-large"
        return build_tagger(
            preset, n_classes, features="part", max_particles=N_MAX, grid_extent=3.2
        )
    cfg = {"num_classes": n_classes, "embed_dim": 64, "num_heads": 4,
           "mlp_dim": 128, "num_layers": 3, "particle_embed_dims": (64,),
           "pair_embed_dims": (16, 16)}  # fmt: skip
    return ParticleTransformer(cfg)


def load_cached(folder: str, seed: int = 0):
    """The ``scripts/make_hh4b_data.py`` set split 70 / 10 / 20 % (fixed permutation).

    Returns ``{"train", "val", "test"} -> (TaggerData, true masses [N, 2])``.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from make_hh4b_data import load_hh4b_data

    p4, mask, labels, masses = load_hh4b_data(folder)
    order = np.random.default_rng(seed).permutation(len(labels))
    cuts = [int(0.7 * len(order)), int(0.8 * len(order))]
    out = {}
    for name, idx in zip(("train", "val", "test"), np.split(order, cuts), strict=True):
        data = TaggerData(  # float64: the features are computed in the dtype of p4
            torch.as_tensor(p4[idx], dtype=torch.float64),
            torch.as_tensor(mask[idx]),
            torch.as_tensor(labels[idx]),
        )
        out[name] = (data, masses[idx].astype(np.float64))
    return out


def plot(path: str, disc, reco, labels, is_sig) -> None:
    """ROC of D against each background and the background's reconstructed (m_h1, m_h2)
    before and after the cut at 50 % signal efficiency (needs matplotlib)."""
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    from hypervae.taggers import roc_curve

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for k, name in enumerate(BACKGROUNDS):
        sel = is_sig | (labels == len(SIGNAL_BINS) + k)
        fpr, tpr = roc_curve(is_sig[sel], disc[sel])[:2]
        seen = fpr > 0  # rejection is unbounded before the first background event
        axes[0].semilogy(tpr[seen], 1 / fpr[seen], label=f"against {name}")
    axes[0].set(xlabel="signal efficiency", ylabel="background rejection 1/eps_b", title="D")
    axes[0].legend()
    if reco is not None:
        cut = np.quantile(disc[is_sig], 0.5)
        bkg = reco[~is_sig]
        ok = np.isfinite(bkg).all(1)
        for ax, keep, title in (
            (axes[1], ok, "background, all"),
            (axes[2], ok & (disc[~is_sig] >= cut), "background, D cut (50 % signal)"),
        ):
            ax.hist2d(*bkg[keep].T, bins=[np.arange(0, 275, 25)] * 2, density=True)
            ax.set(xlabel="m_h1 (GeV)", ylabel="m_h2 (GeV)", title=f"{title}: {keep.sum()} events")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def report(model: torch.nn.Module, test: TaggerData, truth: np.ndarray, plot_path=None) -> dict:
    """Prints and returns the AUCs of D, the confusion matrix, sculpting and mass estimate."""
    from hypervae.taggers import predict_proba

    probs = predict_proba(model, test)
    disc, mass = interpret(probs)
    labels = test.labels.numpy()
    is_sig = labels < len(SIGNAL_BINS)
    result: dict = {"n_test": len(labels), "auc_signal_vs_background": roc_auc(is_sig, disc)}
    print(f"signal vs background AUC of D: {result['auc_signal_vs_background']:.3f}")
    for k, name in enumerate(BACKGROUNDS):
        sel = is_sig | (labels == len(SIGNAL_BINS) + k)
        result[f"auc_vs_{name}"] = roc_auc(is_sig[sel], disc[sel])
        print(f"AUC of D against {name}: {result[f'auc_vs_{name}']:.3f}")
    matrix = confusion(labels[is_sig], probs[is_sig])
    result["confusion"] = matrix.round(4).tolist()
    result["bin_accuracy"] = float(
        np.mean(probs[is_sig, : len(SIGNAL_BINS)].argmax(1) == labels[is_sig])
    )
    print("signal mass-bin confusion (rows: true bin, columns: most probable bin):")
    print(np.array2string(matrix, precision=2))
    jsd, eff_b = sculpting(disc, probs, is_sig)
    result.update(jsd_bits=jsd, background_efficiency_at_50=eff_b)
    print(
        f"cut on D at 50% signal efficiency keeps {eff_b:.4f} of the background; JSD of its "
        f"most probable mass bin before / after: {jsd:.3f}"
    )
    reco = dijet_masses(test.p4.numpy(), test.mask.numpy())
    if reco is not None:
        jsd2, floor, n_kept = mass_sculpting(disc, reco, is_sig)
        result.update(jsd_reco_bits=jsd2, jsd_reco_floor_bits=floor, background_kept=n_kept)
        print(
            f"reconstructed (m_h1, m_h2) of the background (anti-kT 0.4, four leading jets): JSD "
            f"before / after the cut {jsd2:.3f} bits ({n_kept} events kept; a random subset "
            f"of that size gives {floor:.3f})"
        )
    if plot_path:
        plot(plot_path, disc, reco, labels, is_sig)
    resolution = np.nanstd(mass[is_sig] - truth[is_sig], axis=0)
    bias = np.nanmean(mass[is_sig] - truth[is_sig], axis=0)
    result.update(mass_bias=bias.tolist(), mass_spread=resolution.tolist())
    print(
        f"(m_h1, m_h2) estimate on signal: bias {bias.round(1)} GeV, spread {resolution.round(1)} GeV"
    )
    bkg_mass = mass[~is_sig]
    cut = np.quantile(disc[~is_sig], 0.9)  # keep 10% of the background
    kept = disc[~is_sig] > cut
    print(
        "background mean estimated (m_h1, m_h2) before / after a 10% cut on D: "
        f"{bkg_mass.mean(0).round(1)} / {bkg_mass[kept].mean(0).round(1)} GeV"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toy", action="store_true", help="toy events instead of Pythia")
    parser.add_argument(
        "--data", default=None, help="folder of scripts/make_hh4b_data.py (instead of generating)"
    )
    parser.add_argument("--events", type=int, default=150, help="events per signal bin")
    parser.add_argument("--epochs", type=int, default=8, help="at most this many epochs")
    parser.add_argument("--patience", type=int, default=3, help="early stopping (with --data)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", choices=["part", "phat", "phat-medium"], default="part")
    parser.add_argument("-o", "--output", default=None, help="JSON file for the results")
    parser.add_argument("--plot", default=None, help="PNG: ROC curves and sculpting (matplotlib)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    val = None
    if args.data:
        parts = load_cached(args.data, args.seed)
        train, val, (test, truth) = parts["train"][0], parts["val"][0], parts["test"]
    else:
        train, _ = build_dataset(args.events, args.toy, args.seed)
        test, truth = build_dataset(args.events // 2, args.toy, args.seed + 1)
    print(f"{len(train)} training / {len(test)} test events; model {args.model}")
    model = make_model(args.model)
    config = {"max_epochs": args.epochs, "batch_size": args.batch, "lr": args.lr, "seed": args.seed}
    if val is not None:
        config["patience"] = args.patience
    start = time.perf_counter()
    history = train_tagger(
        model, train, val, config,
        callback=lambda r: print(f"epoch {int(r['epoch'])}: " + ", ".join(
            f"{k} {v:.4f}" for k, v in r.items() if k.endswith("loss")), flush=True),
    )  # fmt: skip
    seconds = time.perf_counter() - start
    result = report(model, test, truth, args.plot)
    if args.output:
        result.update(
            args=vars(args),
            epochs=len(history),
            history=history,
            train_seconds=seconds,
            params=sum(p.numel() for p in model.parameters()),
        )
        Path(args.output).write_text(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
