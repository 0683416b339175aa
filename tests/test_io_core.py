"""The one I/O core (hypervae._io)."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest
import torch

from hypervae._io import (
    WEIGHTS_FORMAT,
    atomic_write,
    load_weights,
    read_config_json,
    resolve_device,
    safe_torch_load,
    save_weights,
)


def test_atomic_write_normal_permissions_and_no_leftovers(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write(target, b"abc")
    assert target.read_bytes() == b"abc"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    atomic_write(target, lambda p: p.write_text("xyz"))
    assert target.read_text() == "xyz"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_atomic_write_failure_keeps_old_file(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write(target, "old")

    def boom(path):
        path.write_text("partial")
        msg = "disk full"
        raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, boom)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_concurrent_atomic_writes_do_not_collide(tmp_path):
    target = tmp_path / "f.txt"
    errors = []

    def write(k):
        try:
            for _ in range(20):
                atomic_write(target, str(k) * 1000)
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    text = target.read_text()
    assert len(text) == 1000
    assert len(set(text)) == 1


def test_safe_torch_load_refuses_code_and_names_file(tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"a": torch.ones(2)}, good)
    assert torch.equal(safe_torch_load(good)["a"], torch.ones(2))

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    bad = tmp_path / "bad.pt"
    torch.save({"x": Evil()}, bad)
    with pytest.raises(ValueError, match=r"bad\.pt: cannot be read as a weights-only"):
        safe_torch_load(bad)
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(FileNotFoundError, match=r"missing\.pt: no such file"):
        safe_torch_load(tmp_path / "missing.pt")


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(None).type == expected
    with pytest.raises(ValueError, match="unknown device 'banana'"):
        resolve_device("banana")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda:1")


def test_weights_round_trip_and_formats(tmp_path):
    state = {"w": torch.arange(6.0).view(2, 3)}
    save_weights(tmp_path / "m", state, "Demo", {"width": 3})
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    assert meta == {"class": "Demo", "format": WEIGHTS_FORMAT, "config": {"width": 3}}
    assert read_config_json(tmp_path / "m") == ("Demo", {"width": 3})
    assert torch.equal(load_weights(tmp_path / "m")["w"], state["w"])
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "config.json").write_text('{"width": 2}')
    assert read_config_json(legacy) == (None, {"width": 2})
    (legacy / "config.json").write_text('{"format": 7, "config": {}}')
    with pytest.raises(ValueError, match="unknown model directory format 7"):
        read_config_json(legacy)
    (legacy / "config.json").write_text("[")
    with pytest.raises(ValueError, match=r"config\.json: not valid JSON"):
        read_config_json(legacy)
    (legacy / "model.safetensors").write_bytes(b"\x00" * 7)
    with pytest.raises(ValueError, match="truncated or corrupted"):
        load_weights(legacy)
