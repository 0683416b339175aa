"""Metrics logging: a JSONL file always, TensorBoard events when the package is installed."""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

from typing_extensions import Self

from .._io import atomic_write

__all__ = ["MetricsLogger", "tensorboard_available", "truncate_metrics"]


def tensorboard_available() -> bool:
    """Whether ``torch.utils.tensorboard`` imports (it needs the ``tensorboard`` package)."""
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def truncate_metrics(path: str | os.PathLike[str], step: int) -> int:
    """Drops the lines of ``path`` (a ``metrics.jsonl``) logged after optimiser ``step``.

    A half-written last line (a run killed while writing) is dropped too. Returns the
    number of lines dropped.

    Examples:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "metrics.jsonl"
        >>> _ = p.write_text("".join(json.dumps({"step": s}) + "\\n" for s in (1, 2, 3)))
        >>> truncate_metrics(p, 2), p.read_text().count("step")
        (1, 2)
    """
    path = Path(path)
    kept, dropped = [], 0
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
            keep = int(record["step"]) <= step
        except (ValueError, KeyError, TypeError):
            keep = False
        if keep:
            kept.append(line + "\n")
        else:
            dropped += 1
    if dropped:
        atomic_write(path, "".join(kept))
    return dropped


class MetricsLogger:
    """Writes scalars to ``<directory>/metrics.jsonl`` and optionally to TensorBoard.

    Each JSONL line is ``{"tag": ..., "step": ..., "epoch": ..., "time": ..., scalars}``.

    When a run resumes from a checkpoint written at optimiser step ``resume_step``, the
    lines logged after that step by the interrupted run are dropped first (the resumed
    run logs those steps again), and TensorBoard purges its events after that step.

    Arguments:
        directory: Where ``metrics.jsonl`` (and TensorBoard's ``tensorboard/``) go.
        tensorboard: ``True``: use TensorBoard when installed (a warning otherwise);
            ``False``: JSONL only.
        enabled: ``False`` writes nothing (non-zero DDP ranks).
        resume_step: Keep only the lines of steps ``<= resume_step`` of an existing
            ``metrics.jsonl`` (``None``: append to it as it is).

    Examples:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> with MetricsLogger(d, tensorboard=False) as log:
        ...     log.log("train", {"loss": 1.5}, step=3, epoch=0)
        >>> json.loads((Path(d) / "metrics.jsonl").read_text())["train/loss"]
        1.5
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        tensorboard: bool = True,
        enabled: bool = True,
        resume_step: int | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.enabled = enabled
        self.writer: Any = None
        self._file: Any = None
        if not enabled:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / "metrics.jsonl"
        if resume_step is not None and path.is_file():
            truncate_metrics(path, resume_step)
        self._file = path.open("a")
        if tensorboard:
            if tensorboard_available():
                from torch.utils.tensorboard import SummaryWriter

                purge = None if resume_step is None else resume_step + 1
                self.writer = SummaryWriter(str(self.directory / "tensorboard"), purge_step=purge)
            else:
                warnings.warn(
                    "TensorBoard logging needs the 'tensorboard' package (pip install "
                    "tensorboard); writing metrics.jsonl only",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def log(
        self,
        tag: str,
        scalars: dict[str, float],
        step: int,
        epoch: int,
        info: dict[str, str] | None = None,
    ) -> None:
        """Records ``scalars`` as ``tag/name`` at optimiser step ``step``.

        ``info`` adds text fields ``tag/name`` to the JSONL line only (not TensorBoard).
        """
        if not self.enabled:
            return
        values = {f"{tag}/{k}": float(v) for k, v in scalars.items()}
        record: dict[str, Any] = {
            "tag": tag, "step": int(step), "epoch": int(epoch), "time": time.time()
        }  # fmt: skip
        record.update({k: (v if math.isfinite(v) else str(v)) for k, v in values.items()})
        record.update({f"{tag}/{k}": str(v) for k, v in (info or {}).items()})
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self.writer is not None:
            for key, value in values.items():
                self.writer.add_scalar(key, value, int(step))

    def close(self) -> None:
        """Flushes and closes the files."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
