r"""A learned latent prior: one diagonal Gaussian mixture per jet type.

A VAE trained with a small KL weight keeps an informative latent space, but its
aggregate posterior :math:`q(z) = \frac{1}{N}\sum_i q(z|x_i)` then differs from the
standard normal, and sampling :math:`z \sim N(0, 1)` decodes jets the decoder never saw.
Fitting a density to :math:`q(z)` after training ("ex-post density estimation") and
sampling from it closes that gap. :class:`GaussianMixturePrior` fits a mixture per jet
type by expectation maximisation on draws from the encoder's posteriors.

Before it is fitted (every mean 0, every log-variance 0, equal weights) the mixture *is*
the standard normal, so a model with this prior samples exactly like one without.

References:
    | Ghosh et al., From Variational to Deterministic Autoencoders (2020)
    | https://arxiv.org/abs/1903.12436
    | Bishop, Pattern Recognition and Machine Learning (2006), section 9.2
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["GaussianMixturePrior"]


class GaussianMixturePrior(nn.Module):
    """Per-class diagonal Gaussian mixture over latent codes.

    Arguments:
        num_classes: Number of conditioning classes (jet types).
        num_components: Mixture components per class.
        dim: Latent dimension.

    Shapes:
        sample: ``classes [B]`` -> ``z [B, dim]``.
        log_prob: ``z [B, dim]``, ``classes [B]`` -> ``[B]``.

    Examples:
        >>> prior = GaussianMixturePrior(2, 3, 4)
        >>> z = torch.randn(500, 4, dtype=torch.float64) * 0.5 + 2.0
        >>> prior.fit(z, torch.zeros(500, dtype=torch.long), seed=0)
        >>> round(float(prior.sample(torch.zeros(2000, dtype=torch.long)).mean()), 1)
        2.0
        >>> float(prior.sample(torch.ones(2000, dtype=torch.long)).std()) > 0.9  # unfitted
        True
    """

    logits: Tensor
    means: Tensor
    logvars: Tensor

    def __init__(self, num_classes: int, num_components: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("logits", torch.zeros(num_classes, num_components))
        self.register_buffer("means", torch.zeros(num_classes, num_components, dim))
        self.register_buffer("logvars", torch.zeros(num_classes, num_components, dim))

    @property
    def fitted(self) -> Tensor:
        """Which classes hold a fitted mixture (``[num_classes]`` booleans)."""
        return (self.means != 0).flatten(1).any(1) | (self.logvars != 0).flatten(1).any(1)

    def sample(self, classes: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Draws one latent code per entry of ``classes`` (on the CPU generator's device)."""
        classes = classes.long().cpu()
        logits = self.logits.detach().cpu().double()[classes]
        comp = torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0]
        mean = self.means.detach().cpu().double()[classes, comp]
        std = (0.5 * self.logvars.detach().cpu().double()[classes, comp]).exp()
        eps = torch.randn(mean.shape, generator=generator, dtype=torch.float64)
        return (mean + std * eps).to(self.means.dtype)

    def transform(self, classes: Tensor, uniform: Tensor, eps: Tensor) -> Tensor:
        """Latent codes from given random numbers (inverse-CDF component choice), float64.

        The draw of :meth:`sample` as a deterministic function of its randomness, so a
        caller can draw the random numbers per item (e.g. seed-stable per jet).

        Arguments:
            classes: Class of each code ``[B]``.
            uniform: Uniform numbers in ``[0, 1)`` choosing the component ``[B]``.
            eps: Standard normal numbers ``[B, dim]``.

        Shapes:
            classes, uniform ``[B]``; eps ``[B, dim]`` -> ``[B, dim]`` (float64, CPU).
        """
        classes = classes.long().cpu()
        weights = self.logits.detach().cpu().double()[classes].softmax(-1)
        cdf = weights.cumsum(-1)
        target = uniform.double().cpu()[:, None] * cdf[:, -1:]
        comp = (cdf <= target).sum(-1).clamp(max=weights.shape[1] - 1)
        mean = self.means.detach().cpu().double()[classes, comp]
        std = (0.5 * self.logvars.detach().cpu().double()[classes, comp]).exp()
        return mean + std * eps.double().cpu()

    def log_prob(self, z: Tensor, classes: Tensor) -> Tensor:
        """Log density of ``z`` under the mixture of each entry's class."""
        mean, logvar = self.means[classes], self.logvars[classes]  # [B, K, D]
        d = z[:, None, :] - mean
        comp = -0.5 * ((d**2) * (-logvar).exp() + logvar + math.log(2 * math.pi)).sum(-1)
        return torch.logsumexp(comp + self.logits[classes].log_softmax(-1), -1)

    @torch.no_grad()
    def fit(
        self,
        z: Tensor,
        classes: Tensor,
        iterations: int = 200,
        var_floor: float = 1e-4,
        seed: int = 0,
    ) -> None:
        """Fits the mixture of every class present in ``classes`` by EM on codes ``z``.

        Components start on randomly chosen codes (k-means++ seeding) with the class's
        variance. Classes absent from ``classes`` keep their current mixture.

        Arguments:
            z: Latent codes ``[N, dim]`` (draws from the encoder's posteriors).
            classes: Class of each code ``[N]``.
            iterations: EM iterations.
            var_floor: Smallest variance of a component (keeps EM away from collapse).
            seed: Seed of the initialisation.
        """
        gen = torch.Generator().manual_seed(seed)
        z = z.detach().cpu().double()
        classes = classes.detach().cpu().long()
        k = self.logits.shape[1]
        for c in classes.unique().tolist():
            x = z[classes == c]
            if len(x) < k:
                msg = f"class {c}: {len(x)} codes, need at least {k} (one per component)"
                raise ValueError(msg)
            logits, means, logvars = _em(x, k, iterations, var_floor, gen)
            self.logits[c] = logits.to(self.logits)
            self.means[c] = means.to(self.means)
            self.logvars[c] = logvars.to(self.logvars)


def _em(
    x: Tensor, k: int, iterations: int, var_floor: float, gen: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    n, _ = x.shape
    # k-means++ seeding of the means
    centres = [x[int(torch.randint(n, (1,), generator=gen))]]
    for _ in range(1, k):
        d2 = torch.cdist(x, torch.stack(centres)).min(1).values ** 2
        probs = d2 / d2.sum() if float(d2.sum()) > 0 else torch.full_like(d2, 1.0 / n)
        centres.append(x[int(torch.multinomial(probs, 1, generator=gen))])
    means = torch.stack(centres)
    var = x.var(0, unbiased=False).clamp(min=var_floor).expand(k, -1).clone()
    log_w = torch.full((k,), -math.log(k), dtype=x.dtype)
    for _ in range(iterations):
        d = x[:, None, :] - means[None]
        logp = -0.5 * (d**2 / var + var.log() + math.log(2 * math.pi)).sum(-1) + log_w
        resp = (logp - logp.logsumexp(1, keepdim=True)).exp()  # [n, k]
        nk = resp.sum(0).clamp(min=1e-12)
        log_w = (nk / n).log()
        means = resp.T @ x / nk[:, None]
        var = (resp.T @ x**2 / nk[:, None] - means**2).clamp(min=var_floor)
    return log_w, means, var.log()
