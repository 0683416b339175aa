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
import itertools

import numpy as np
import torch

from hypervae.taggers import (
    ParticleTransformer,
    TaggerData,
    build_tagger,
    roc_auc,
    train_tagger,
)

EDGES = np.array([50.0, 100.0, 150.0, 200.0])  # GeV, per axis
CENTRES = 0.5 * (EDGES[1:] + EDGES[:-1])
# (i1, i2) with m_h1 >= m_h2: the two Higgs candidates are not labelled, so only the
# ordered pair of masses is observable
SIGNAL_BINS = [(i, j) for i, j in itertools.product(range(len(CENTRES)), repeat=2) if i >= j]
BACKGROUNDS = ("qcd", "ttbar")
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
    """Pythia 8 events; all visible final-state particles with |eta| < 2.5, pT > 0.5 GeV."""
    from hypervae.datasets import configured_pythia

    settings = ["Beams:eCM = 13000.", f"Random:seed = {seed}", "Random:setSeed = on",
                "Next:numberCount = 0", "Print:quiet = on"]  # fmt: skip
    if process == "signal":
        settings += [
            # switch channels off rather than replacing the table: gg -> H2 needs the
            # H2 -> gg channel to stay in the list for its cross section
            "Higgs:useBSM = on", "HiggsBSM:gg2H2 = on", f"35:m0 = {m_x}",
            "35:onMode = off", "35:addChannel = 1 1.0 100 25 36",
            f"25:m0 = {masses[0]}", "25:onMode = off", "25:onIfMatch = 5 -5",
            f"36:m0 = {masses[1]}", "36:onMode = off", "36:addChannel = 1 1.0 100 5 -5",
        ]  # fmt: skip
    elif process == "qcd":
        settings += ["HardQCD:all = on", "PhaseSpace:pTHatMin = 150."]
    else:
        settings += ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"]
    gen = configured_pythia(settings, f"the {process} process")
    p4 = np.zeros((n, N_MAX, 4))
    mask = np.zeros((n, N_MAX), dtype=bool)
    done = failures = 0
    while done < n:
        if not gen.next():
            failures += 1
            if failures > 100 * n:
                msg = f"Pythia failed {failures} times generating {process} events"
                raise RuntimeError(msg)
            continue
        parts = [
            (p.e(), p.px(), p.py(), p.pz())
            for p in gen.event
            if p.isFinal() and p.isVisible() and abs(p.eta()) < 2.5 and p.pT() > 0.5
        ]
        parts.sort(key=lambda v: -np.hypot(v[1], v[2]))
        parts = parts[:N_MAX]
        p4[done, : len(parts)] = parts
        mask[done, : len(parts)] = True
        done += len(parts) > 0
    return p4, mask


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


def make_model(name: str) -> torch.nn.Module:
    """``part``: ParT 3 x 64 with pair bias; ``phat``: PHAT-JeT large over the whole event."""
    n_classes = len(SIGNAL_BINS) + len(BACKGROUNDS)
    if name == "phat":
        return build_tagger(
            "phat-jet-large", n_classes, features="part", max_particles=N_MAX, grid_extent=3.2
        )
    cfg = {"num_classes": n_classes, "embed_dim": 64, "num_heads": 4,
           "mlp_dim": 128, "num_layers": 3, "particle_embed_dims": (64,),
           "pair_embed_dims": (16, 16)}  # fmt: skip
    return ParticleTransformer(cfg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toy", action="store_true", help="toy events instead of Pythia")
    parser.add_argument("--events", type=int, default=150, help="events per signal bin")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", choices=["part", "phat"], default="part")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    train, _ = build_dataset(args.events, args.toy, args.seed)
    test, truth = build_dataset(args.events // 2, args.toy, args.seed + 1)
    model = make_model(args.model)
    train_tagger(model, train, None, {"epochs": args.epochs, "batch_size": 64, "lr": 3e-3},
                 callback=lambda r: print(f"epoch {int(r['epoch'])}: loss {r['train_loss']:.3f}"))  # fmt: skip
    from hypervae.taggers import predict_proba

    probs = predict_proba(model, test)
    disc, mass = interpret(probs)
    labels = test.labels.numpy()
    is_sig = labels < len(SIGNAL_BINS)
    print(f"signal vs background AUC of D: {roc_auc(is_sig, disc):.3f}")
    for k, name in enumerate(BACKGROUNDS):
        sel = is_sig | (labels == len(SIGNAL_BINS) + k)
        print(f"AUC of D against {name}: {roc_auc(is_sig[sel], disc[sel]):.3f}")
    print("signal mass-bin confusion (rows: true bin, columns: most probable bin):")
    print(np.array2string(confusion(labels[is_sig], probs[is_sig]), precision=2))
    jsd, eff_b = sculpting(disc, probs, is_sig)
    print(
        f"cut on D at 50% signal efficiency keeps {eff_b:.3f} of the background; JSD of its "
        f"most probable mass bin before / after: {jsd:.3f}"
    )
    resolution = np.nanstd(mass[is_sig] - truth[is_sig], axis=0)
    bias = np.nanmean(mass[is_sig] - truth[is_sig], axis=0)
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


if __name__ == "__main__":
    main()
