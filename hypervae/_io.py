"""The one I/O core: atomic writes, safe loading, device resolution, the weights format.

* :func:`atomic_write` writes through a uniquely named temporary file in the target's
  folder, flushes and fsyncs it, gives it the permissions of a normally created file
  (``0o666`` less the umask) and renames it over the target: readers see the old file or
  the new one, never a part; two concurrent writers never share a temporary file.
* :func:`safe_torch_load` reads ``torch.save`` files with ``weights_only=True`` (never
  unpickles code) and names the file in every error.
* :func:`resolve_device` turns ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (or a
  ``torch.device``) into a device, refusing unknown names and absent GPUs clearly.
* :func:`save_weights` / :func:`load_weights`: every model directory holds
  ``model.safetensors`` and ``config.json`` = ``{"class": ..., "format": 2, "config":
  {...}}``. Loading never unpickles.

torch and safetensors are imported inside the functions that need them, so that the
torch-free layers (``physics``, ``datasets``) can use :func:`atomic_write`.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write(path, "hello\\n")
    >>> path.read_text()
    'hello\\n'
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = [
    "WEIGHTS_FORMAT",
    "atomic_write",
    "load_weights",
    "read_config_json",
    "read_json",
    "resolve_device",
    "safe_torch_load",
    "save_weights",
]

#: Version of the model directory layout written by :func:`save_weights`.
WEIGHTS_FORMAT = 2


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | str | Callable[[Path], object],
    *,
    mode: int | None = None,
) -> None:
    """Writes ``data`` to ``path`` atomically.

    Arguments:
        path: The target file (its folder must exist).
        data: Bytes, text (UTF-8), or a callable that writes the file at the path it is
            given (for libraries that write files themselves: safetensors, torch, pyarrow).
        mode: Permissions of the new file; by default ``0o666`` less the umask, as for
            a file created with ``open``.
    """
    target = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(name)
    try:
        if callable(data):
            os.close(fd)
            fd = -1
            data(tmp)
        else:
            payload = data.encode() if isinstance(data, str) else data
            with os.fdopen(fd, "wb") as handle:
                fd = -1
                handle.write(payload)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
        try:  # make the rename itself durable
            dir_fd = os.open(target.parent, os.O_RDONLY)
        except OSError:  # pragma: no cover - platforms without directory fds
            return
        try:
            os.fsync(dir_fd)
        except OSError:  # pragma: no cover
            pass
        finally:
            os.close(dir_fd)
    finally:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)


def safe_torch_load(path: str | os.PathLike[str], map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; errors name the file.

    Raises:
        FileNotFoundError: No such file.
        ValueError: The file is not a weights-only torch file (corrupted, truncated, or a
            pickle with code in it, which is refused and never run).
    """
    import torch

    file = Path(path)
    if not file.is_file():
        msg = f"{file}: no such file"
        raise FileNotFoundError(msg)
    try:
        return torch.load(file, map_location=map_location, weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many error types here
        msg = (
            f"{file}: cannot be read as a weights-only torch file (truncated, corrupted, "
            f"or holding code, which is never unpickled): {type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}"
        )
        raise ValueError(msg) from None


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """The torch device for ``"auto"``/``None`` (CUDA when present), ``"cpu"``, ``"cuda[:N]"``.

    Raises:
        ValueError: An unknown device name, or CUDA asked for where there is none (or
            the index is out of range); the message names the argument.

    Example:
        >>> str(resolve_device("cpu"))
        'cpu'
    """
    import torch

    if isinstance(device, torch.device):
        device = str(device)
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name, _, index = device.partition(":")
    if name == "cpu" and not index:
        return torch.device("cpu")
    if name == "cuda" and (not index or index.isdigit()):
        if not torch.cuda.is_available():
            msg = f"device {device!r}: CUDA is not available on this machine (use 'cpu' or 'auto')"
            raise ValueError(msg)
        if index and int(index) >= torch.cuda.device_count():
            msg = f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) here"
            raise ValueError(msg)
        return torch.device(device)
    msg = f"device: unknown device {device!r}; expected 'auto', 'cpu', 'cuda' or 'cuda:N'"
    raise ValueError(msg)


def save_weights(
    directory: str | os.PathLike[str],
    state: dict[str, torch.Tensor],
    class_name: str,
    config: dict[str, Any],
) -> Path:
    """Writes ``model.safetensors`` and ``config.json`` (both atomically) into ``directory``.

    ``config.json`` is ``{"class": class_name, "format": WEIGHTS_FORMAT, "config": config}``.
    """
    from safetensors.torch import save_file

    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    atomic_write(path / "model.safetensors", lambda p: save_file(tensors, str(p)))
    meta = {"class": class_name, "format": WEIGHTS_FORMAT, "config": config}
    atomic_write(path / "config.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return path


def read_json(file: str | os.PathLike[str], missing: str | None = None) -> Any:
    """The JSON value of ``file``; a missing or invalid file is named in the error.

    Raises:
        FileNotFoundError: No such file (with the message ``missing`` when given).
        ValueError: Not valid JSON (or nested too deeply).
    """
    path = Path(file)
    if not path.is_file():
        raise FileNotFoundError(missing or f"{path}: no such file")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        msg = f"{path}: not valid JSON ({error})"
        raise ValueError(msg) from None


def read_config_json(directory: str | os.PathLike[str]) -> tuple[str | None, dict[str, Any]]:
    """The class name (``None`` for a format-1 directory) and config dict of a model directory.

    Format 1 (written before the ``class`` field existed) holds the config dict alone.

    Raises:
        FileNotFoundError: No ``config.json``.
        ValueError: Invalid JSON, not an object, or an unknown format; names the file.
    """
    file = Path(directory) / "config.json"
    values = read_json(
        file, f"{Path(directory)}: no config.json (a model directory holds config.json and "
        "model.safetensors)",
    )  # fmt: skip
    if not isinstance(values, dict):
        msg = f"{file}: expected a JSON object, got {type(values).__name__}"
        raise ValueError(msg)  # noqa: TRY004 - a bad file's content, not a bad argument
    if "format" not in values:
        return None, values
    if values.get("format") != WEIGHTS_FORMAT or not isinstance(values.get("config"), dict):
        msg = (
            f"{file}: unknown model directory format {values.get('format')!r} (this version "
            f"reads format {WEIGHTS_FORMAT} and the older flat config); re-save the model "
            "with save_pretrained"
        )
        raise ValueError(msg)
    name = values.get("class")
    if not isinstance(name, str):
        msg = f"{file}: 'class' must name the model class, got {name!r}"
        raise ValueError(msg)  # noqa: TRY004 - a bad file's content, not a bad argument
    return name, values["config"]


def load_weights(
    directory: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> dict[str, torch.Tensor]:
    """The tensors of ``directory/model.safetensors``; a bad file is named in the error."""
    from safetensors.torch import load_file

    file = Path(directory) / "model.safetensors"
    if not file.is_file():
        msg = f"{Path(directory)}: no model.safetensors (a model directory holds config.json and model.safetensors)"
        raise FileNotFoundError(msg)
    try:
        return load_file(str(file), device=str(device))
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error types
        msg = (
            f"{file} is truncated or corrupted and cannot be read ({type(error).__name__}: {error})"
        )
        raise ValueError(msg) from None
