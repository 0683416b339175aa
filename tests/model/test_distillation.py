"""Few-step distillation of the flow decoder: teacher trajectories, the student, refusals."""

from __future__ import annotations

import pytest
import torch

from hypervae._config import ConfigError
from hypervae.model import HyperVAE, distill_flow_decoder, teacher_trajectories
from hypervae.model.flow_decoder import FlowDecoderConfig
from hypervae.model.generation import _randomness

TINY = {"max_particles": 6, "latent_dim": 4, "hidden": 16, "encoder": {"num_blocks": 1}}
FLOW = {"width": 16, "heads": 2, "layers": 1, "steps": 4}


def teacher(seed: int = 0, curved: bool = True) -> HyperVAE:
    """A tiny flow model; ``curved``: a velocity field large enough to bend its paths."""
    torch.manual_seed(seed)
    model = HyperVAE({**TINY, "flow": FLOW}).eval()
    if curved:
        field = model.particle_decoder.flow.velocity
        with torch.no_grad():
            field.out.weight.normal_(0.0, 1.0)
            for block in field.blocks:
                block.modulation.weight.normal_(0.0, 0.3)
    return model


def test_trajectories_are_the_paths_of_the_sampled_jets():
    model = teacher()
    flow = model.particle_decoder.flow
    paths = teacher_trajectories(model, 40, steps=2, teacher_steps=4, seed=3, progress=False)
    assert paths["states"].shape == (40, 3, 6, 3)
    mask = torch.arange(6)[None, :] < paths["multiplicity"][:, None]
    # the start is the noise of the jets of model.sample(40, seed=3)
    noise = _randomness(3, 0, 40, 4, model.particle_decoder.noise_shape, 6)["noise"]
    start = noise[:, :-1].reshape(40, 6, 3).float() * mask[..., None]
    assert torch.equal(paths["states"][:, 0], start)
    # the end is the teacher's 4-step midpoint integration of that start, as sample does
    cond = flow._condition(
        paths["z"], flow.type_embedding(paths["jet_type"]), paths["scalar"], paths["multiplicity"]
    )
    with torch.no_grad():
        end = flow._integrate(start, cond, mask, 4, "midpoint")
        half = flow._integrate(start, cond, mask, 2, "midpoint", 0.0, 0.5)
    assert torch.allclose(paths["states"][:, 2], end, atol=1e-6)
    assert torch.allclose(paths["states"][:, 1], half, atol=1e-6)
    # and so are the jets' multiplicities and types (all five drawn)
    jets = model.sample(40, jet_type=None, seed=3)
    assert jets.n_particles.to_list() == paths["multiplicity"].tolist()
    assert jets.jet_type.to_list() == paths["jet_type"].tolist()
    assert len(set(paths["jet_type"].tolist())) == 5


def test_the_student_beats_the_teachers_own_few_step_euler_and_changes_only_the_field():
    model = teacher()
    paths = teacher_trajectories(model, 600, steps=2, teacher_steps=8, seed=0, progress=False)
    student, history = distill_flow_decoder(
        model, paths, epochs=6, batch_size=32, lr=3e-3, val_fraction=0.2, progress=False
    )
    assert history[0]["teacher_val"] > 0.05  # the tiny teacher's paths are curved
    assert min(h["val"] for h in history) < 0.5 * history[0]["teacher_val"]
    # what counts: two Euler steps of the student land nearer the teacher's fine ODE end
    # than two Euler steps of the teacher, on held-out paths
    held = {k: v[480:] for k, v in paths.items()}
    mask = torch.arange(6)[None, :] < held["multiplicity"][:, None]
    errors = []
    for m in (model, student):
        flow = m.particle_decoder.flow
        cond = flow._condition(
            held["z"], flow.type_embedding(held["jet_type"]), held["scalar"], held["multiplicity"]
        )
        with torch.no_grad():
            end = flow._integrate(held["states"][:, 0], cond, mask, 2, "euler")
        errors.append(float((end - held["states"][:, -1])[mask].pow(2).sum(-1).mean()))
    assert errors[1] < 0.5 * errors[0], errors
    # val_end is that end-point error (held-out paths = the validation split), for the
    # teacher at epoch 0 and for the EMA weights of the epoch kept
    assert history[0]["teacher_val_end"] == pytest.approx(errors[0], rel=1e-4)
    assert min(h["val_end"] for h in history) == pytest.approx(errors[1], rel=1e-4)
    assert student.config.flow.distilled_steps == 2
    assert (student.config.flow.steps, student.config.flow.solver) == (2, "euler")
    before, after = model.state_dict(), student.state_dict()
    assert set(before) == set(after)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed
    assert all(k.startswith("particle_decoder.flow.velocity.") for k in changed)
    # the teacher is untouched and still samples with any settings
    assert model.config.flow.distilled_steps == 0
    assert len(model.sample(3, seed=0, steps=3, solver="heun")) == 3


def test_rollout_equals_teacher_forcing_for_one_step_and_differs_for_more():
    model = teacher()
    kw = {"epochs": 2, "batch_size": 32, "lr": 3e-3, "val_fraction": 0.2, "progress": False}
    one = teacher_trajectories(model, 160, steps=1, teacher_steps=4, seed=0, progress=False)
    forced, h_forced = distill_flow_decoder(model, one, **kw)
    own, h_own = distill_flow_decoder(model, one, rollout=True, **kw)
    assert h_forced == h_own  # one segment: the student's start is the teacher's
    assert all(
        torch.equal(a, b) for a, b in zip(forced.parameters(), own.parameters(), strict=True)
    )
    # with one unit step the end-point error is the loss itself
    assert h_own[-1]["val_end"] == pytest.approx(h_own[-1]["val"], rel=1e-5)
    two = teacher_trajectories(model, 600, steps=2, teacher_steps=8, seed=0, progress=False)
    kw["epochs"] = 6
    forced, h_forced = distill_flow_decoder(model, two, **kw)
    own, h_own = distill_flow_decoder(model, two, rollout=True, **kw)
    assert h_own[0]["teacher_val_end"] == pytest.approx(h_forced[0]["teacher_val_end"])
    assert h_own[0]["teacher_val"] != pytest.approx(h_forced[0]["teacher_val"])
    assert min(h["val_end"] for h in h_own) < 0.5 * h_own[0]["teacher_val_end"]
    assert not all(
        torch.equal(a, b) for a, b in zip(forced.parameters(), own.parameters(), strict=True)
    )


def test_a_distilled_model_round_trips_and_refuses_other_ode_settings(tmp_path):
    model = teacher(curved=False).double()  # float64: bit-identical whatever the batch
    paths = teacher_trajectories(model, 64, steps=2, progress=False)
    student, _ = distill_flow_decoder(model, paths, epochs=1, batch_size=16, progress=False)
    jets = student.sample(10, jet_type="w", seed=5)
    student.save_pretrained(tmp_path / "d")
    loaded = HyperVAE.from_pretrained(tmp_path / "d")
    assert loaded.config.flow.distilled_steps == 2
    again = loaded.sample(10, jet_type="w", seed=5, batch_size=3)
    assert again.particles.pt.to_list() == jets.particles.pt.to_list()
    assert len(loaded.sample(4, seed=0, steps=2, solver="euler")) == 4
    for kwargs in ({"steps": 20}, {"solver": "midpoint"}, {"steps": 1, "solver": "euler"}):
        with pytest.raises(ValueError, match="distilled for 2 Euler steps") as info:
            loaded.sample(4, seed=0, **kwargs)
        assert "undistilled model it was distilled from" in str(info.value)  # unrecorded
    with pytest.raises(ValueError, match="already distilled"):
        teacher_trajectories(loaded, 8, progress=False)


def test_bad_settings_are_named():
    with pytest.raises(ConfigError, match="distilled_steps"):
        FlowDecoderConfig(distilled_steps=2)  # steps=20, midpoint
    assert FlowDecoderConfig(distilled_steps=2, steps=2, solver="euler").distilled_steps == 2
    model = teacher(curved=False)
    with pytest.raises(ValueError, match="multiple of steps"):
        teacher_trajectories(model, 8, steps=3, teacher_steps=4, progress=False)
    with pytest.raises(ValueError, match="n_jets"):
        teacher_trajectories(model, 0, progress=False)
    paths = teacher_trajectories(model, 8, steps=2, progress=False)
    with pytest.raises(ValueError, match="missing"):
        distill_flow_decoder(model, {"z": paths["z"]}, progress=False)
    wrong = dict(paths, states=paths["states"][:, :, :4])
    with pytest.raises(ValueError, match=r"trajectories\['states'\]"):
        distill_flow_decoder(model, wrong, progress=False)
    slots = HyperVAE({**TINY, "decoder": "slots"})
    with pytest.raises(ValueError, match="not 'flow'"):
        teacher_trajectories(slots, 8, progress=False)


def test_the_distill_command_caches_trajectories_and_writes_a_complete_model(tmp_path, capsys):
    import json

    from hypervae.cli import main

    teacher_dir = teacher(curved=False).save_pretrained(tmp_path / "teacher")
    run = {"graph": {"budget": "knn", "k": 2}, "model": {"decoder": "flow"}}
    (teacher_dir / "run.json").write_text(json.dumps(run))
    cache, out = tmp_path / "paths.safetensors", tmp_path / "student"
    argv = ["distill", "--model", str(teacher_dir), "-o", str(out), "--jets", "40",
            "--epochs", "1", "--batch-size", "8", "--trajectories", str(cache), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert "wrote teacher trajectories" in capsys.readouterr().out
    assert main(argv) == 0  # the second run reads them
    assert "read teacher trajectories of 40 jets" in capsys.readouterr().out
    student = HyperVAE.from_pretrained(out)
    assert student.config.flow.distilled_steps == 2
    assert student.graph_config is not None
    assert student.graph_config.k == 2  # the teacher's graph settings, kept
    written = json.loads((out / "run.json").read_text())
    assert written["model"]["flow"]["distilled_steps"] == 2
    assert written["distill"]["jets"] == 40
    # the teacher is recorded, and the refusal of other steps names it
    assert student.config.flow.distilled_from == str(teacher_dir)
    assert written["model"]["flow"]["distilled_from"] == str(teacher_dir)
    with pytest.raises(ValueError, match=f"distilled from, '{teacher_dir}', integrates"):
        student.sample(2, steps=5)
    report = json.loads((out / "distill.json").read_text())
    assert report["history"][0]["teacher_val"] > 0
    # trajectories of other settings are refused, naming the file
    assert main([*argv[:6], "60", *argv[7:]]) == 1
    assert "--trajectories" in capsys.readouterr().err
