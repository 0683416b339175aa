"""Training the flow decoder: TrainingConfig.freeze and stage 2 through ``hypervae train``."""

from __future__ import annotations

import argparse

import pytest
import torch
import yaml

import hypervae as hv
from hypervae._config import ConfigError
from hypervae.model import cli as model_cli
from hypervae.training import Trainer
from hypervae.training import cli as train_cli

from ..training.conftest import GRAPH_CONFIG, synthetic_jets

BLOCK = {"num_blocks": 1, "hidden_v_channels": 4, "hidden_s_channels": 8, "num_heads": 2}
FLOW = {"width": 16, "heads": 2, "layers": 1, "steps": 2}
STAGE2 = ("*", "!particle_decoder.")


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def graphs():
    return hv.graph.build_hypergraphs(synthetic_jets(8, seed=1), GRAPH_CONFIG)


def tiny(decoder: str, graphs, seed: int = 0) -> hv.HyperVAE:
    norm = hv.training.jet_norm_from_graphs(graphs)
    torch.manual_seed(seed)
    return hv.HyperVAE({
        "max_particles": 8, "latent_dim": 4, "hidden": 16, "num_heads": 2, "encoder": BLOCK,
        "slot_decoder": BLOCK, "decoder": decoder, "flow": FLOW,
        "norm": {"mean": norm.mean, "std": norm.std},
    })  # fmt: skip


def config(**extra):
    return {"batch_size": 4, "max_epochs": 1, "warmup_steps": 0, "progress": False,
            "tensorboard": False, "patience": 0, "checkpoint_every": 0, **extra}  # fmt: skip


@pytest.mark.parametrize("extra", [{}, {"precision": "bf16", "accumulation_steps": 2}])
def test_freeze_leaves_frozen_parameters_unchanged_and_trains_the_decoder(graphs, extra):
    model = tiny("flow", graphs)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    trainer = Trainer(model, graphs, config=config(freeze=STAGE2, **extra))
    assert trainer.frozen
    assert not any(n.startswith("particle_decoder.") for n in trainer.frozen)
    trainer.fit()
    assert trainer.step >= 1
    for name, value in model.named_parameters():
        if name.startswith("particle_decoder."):
            continue
        assert torch.equal(value, before[name]), name
        assert not value.requires_grad
    moved = [
        n for n, v in model.named_parameters()
        if n.startswith("particle_decoder.") and not torch.equal(v, before[n])
    ]  # fmt: skip
    assert len(moved) > 0.8 * sum(1 for n in before if n.startswith("particle_decoder."))


def test_freeze_entries_that_match_nothing_or_everything_are_refused(graphs):
    with pytest.raises(ValueError, match=r"freeze\[1\]: 'decoder_lgatr\.' matches no parameter"):
        Trainer(
            tiny("flow", graphs), graphs, config=config(freeze=("to_latent.", "decoder_lgatr."))
        )
    with pytest.raises(ValueError, match="freezes every parameter"):
        Trainer(tiny("flow", graphs), graphs, config=config(freeze=("*",)))
    with pytest.raises(ConfigError, match=r"TrainingConfig\.freeze\[0\]"):
        hv.training.TrainingConfig(freeze=("",))


def run(argv):
    parser = argparse.ArgumentParser(prog="hypervae")
    subparsers = parser.add_subparsers(dest="command")
    train_cli.register(subparsers)
    model_cli.register(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


def test_stage_two_from_a_slot_model_through_the_cli_and_resume(tmp_path, graphs, capsys):
    slots = tiny("slots", graphs, seed=5)
    slots.save_pretrained(tmp_path / "slots")
    data = tmp_path / "jets.parquet"
    hv.datasets.save_parquet(synthetic_jets(14, seed=4), data)
    run_file = tmp_path / "stage2.yaml"
    run_file.write_text(yaml.safe_dump({
        "model": {"decoder": "flow", "flow": FLOW},
        "graph": {k: v for k, v in GRAPH_CONFIG.items() if k != "max_particles"},
        "training": config(batch_size=7, freeze=list(STAGE2), seed=3, accumulation_steps=1),
    }))  # fmt: skip
    save = tmp_path / "run"
    base = ["train", "--config", str(run_file), "--data", str(data), "--save-dir", str(save),
            "-q", "--no-tensorboard"]  # fmt: skip
    assert run([*base, "--init-from", str(tmp_path / "slots")]) == 0
    out = capsys.readouterr().out
    assert "particle decoder 'slots' -> 'flow'" in out
    assert "freshly initialised: ['particle_decoder.']" in out
    assert "trained 1 epochs, 2 steps" in out
    final = hv.HyperVAE.from_pretrained(save / "final")
    assert final.config.decoder == "flow"
    assert final.config.flow.width == FLOW["width"]
    for name, value in slots.state_dict().items():
        if not name.startswith("particle_decoder."):
            assert torch.equal(final.state_dict()[name], value), name
    assert run([*base, "--resume", "--epochs", "2"]) == 0
    assert "trained 2 epochs, 4 steps" in capsys.readouterr().out
    resumed = hv.HyperVAE.from_pretrained(save / "final")
    assert resumed.config.decoder == "flow"
    assert torch.equal(resumed.to_latent[0].weight, slots.to_latent[0].weight)
    flow_before = final.particle_decoder.flow.velocity.state_dict()
    flow_after = resumed.particle_decoder.flow.velocity.state_dict()
    assert any(not torch.equal(flow_before[k], flow_after[k]) for k in flow_before)
    jets = resumed.sample(3, "t", seed=0, steps=2)
    assert len(jets) == 3


def test_generate_cli_takes_steps_and_solver_and_refuses_them_for_slots(tmp_path, graphs):
    tiny("flow", graphs).save_pretrained(tmp_path / "flow")
    tiny("slots", graphs).save_pretrained(tmp_path / "slots")
    out = tmp_path / "g.parquet"
    base = ["generate", "-n", "3", "--seed", "1", "-o", str(out)]
    assert run([*base, "--model", str(tmp_path / "flow"), "--steps", "2", "--solver", "euler"]) == 0
    assert len(hv.datasets.load_parquet(out)) == 3
    with pytest.raises(ValueError, match="slot decoder"):
        run([*base, "--model", str(tmp_path / "slots"), "--steps", "2"])
    with pytest.raises(SystemExit):
        run([*base, "--model", str(tmp_path / "flow"), "--solver", "rk4"])
