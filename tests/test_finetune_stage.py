"""The finetune stage on the tiny offline models: wiring, gradients, learnability, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tailorgen.config import load_config
from tailorgen.context import RunContext
from tailorgen.errors import PluginError
from tailorgen.finetune import MicroStep, PromptPool, TrainerConfig, train_text_encoder
from tailorgen.finetune.checkpoints import CheckpointStore
from tailorgen.finetune.objective import LTEObjective
from tailorgen.io import read_jsonl
from tailorgen.pipeline import run_pipeline
from tailorgen.stages import finetune

PROMPTS = [
    {"labels": ["cat"], "text": "a photo of a cat sleeping on a sofa in the afternoon", "accepted": True},
    {"labels": ["bus", "cow"], "text": "a red bus next to a cow on a country road", "accepted": True},
    {"labels": ["bus", "cow"], "text": "a cow grazing next to a parked bus near a farm", "accepted": True},
    {"labels": ["elephant"], "text": "elephant", "accepted": False},
]


def _config(tmp_path: Path, models: dict[str, Path], generator: str = "diffusers", **finetune_opts) -> Path:
    opts = {"steps": 3, "sampling_steps": 2, "resolution": 32, "checkpoint_every": 2, **finetune_opts}
    section = "\n".join(f"{k} = {json.dumps(v)}" for k, v in opts.items())
    path = tmp_path / "run.toml"
    path.write_text(
        f"""labels = "{models["coco"] / "labels.json"}"
[run]
seed = 7
device = "cpu"
[generator]
plugin = "{generator}"
options = {{ model = "{models["sd"]}", device = "cpu", local_files_only = true }}
[discriminator]
plugin = "open-clip"
options = {{ model = "local-dir:{models["clip-vit"]}", device = "cpu" }}
[finetune]
{section}
"""
    )
    return path


def _run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in PROMPTS))
    return run


def _objective(config: Path, run: Path) -> tuple[LTEObjective, RunContext]:
    ctx = RunContext(load_config(config), run)
    settings = ctx.settings("finetune", finetune.Settings)
    generator, discriminator = ctx.create("generator"), ctx.create("discriminator")
    pool = PromptPool.load(run / "prompts.jsonl", ctx.labels.unseen)
    objective = LTEObjective(
        generator,
        discriminator,
        pool=pool,
        label_names=ctx.labels.unseen,
        settings=settings,
        negative_prompt="watermark",
        seed_for=ctx.seed_for,
    )
    return objective, ctx


def test_gradients_reach_the_text_encoder_and_nothing_else(tmp_path: Path, demo_models) -> None:
    objective, _ = _objective(_config(tmp_path, demo_models), _run_dir(tmp_path))
    encoder = objective.generator.trainable_text_encoder()
    objective(0, 0).loss.backward()
    pipe = objective.generator.pipeline
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters() if p.ndim > 1)
    frozen = [*pipe.unet.parameters(), *pipe.vae.parameters(), *objective.discriminator.model.parameters()]
    assert all(p.grad is None and not p.requires_grad for p in frozen)


def test_checkpointed_sampling_gives_the_same_gradient(tmp_path: Path, demo_models) -> None:
    objective, _ = _objective(_config(tmp_path, demo_models), _run_dir(tmp_path))
    encoder = objective.generator.trainable_text_encoder()
    grads = []
    for flag in (True, False):
        objective.sampling["checkpoint_steps"] = flag
        encoder.zero_grad()
        objective(0, 0).loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in encoder.parameters() if p.grad is not None]))
    torch.testing.assert_close(grads[0], grads[1])


def test_lte_is_learnable_on_a_fixed_label_set_and_seed(tmp_path: Path, demo_models) -> None:
    objective, _ = _objective(_config(tmp_path, demo_models), _run_dir(tmp_path))
    # the random tiny CLIP scores "cow" low for this prompt at the start (L_TE about 9)
    objective.pool = PromptPool(((("cow",), ("a brown cow standing in a green field at noon",)),))
    encoder = objective.generator.trainable_text_encoder()

    def fixed(step: int, micro: int) -> MicroStep:  # same label set, prompt and noise at every step
        return objective(0, 0)

    config = TrainerConfig(steps=24, lr=3e-3, max_grad_norm=10.0, checkpoint_every=1000)
    store = CheckpointStore(tmp_path / "ck")
    train_text_encoder(
        encoder, fixed, config, store=store, log=tmp_path / "log.jsonl", save_encoder=lambda p: None
    )
    losses = [r["loss"] for r in read_jsonl(tmp_path / "log.jsonl")]
    assert not any(r["skipped"] for r in read_jsonl(tmp_path / "log.jsonl"))
    assert sum(losses[-4:]) / 4 < 0.5 * sum(losses[:4]) / 4, losses


def test_stage_writes_a_loadable_encoder_and_resumes(tmp_path: Path, demo_models) -> None:
    from transformers import CLIPTextModel

    config, run = _config(tmp_path, demo_models), _run_dir(tmp_path)
    summary = run_pipeline(load_config(config), ["finetune"], run)["finetune"]
    assert summary["steps"] == 3
    log = read_jsonl(run / "finetune" / "log.jsonl")
    assert [r["step"] for r in log] == [1, 2, 3]
    assert all(r["loss"] is not None for r in log)
    tuned = CLIPTextModel.from_pretrained(run / "finetune" / "text_encoder", use_safetensors=True)
    stock = CLIPTextModel.from_pretrained(demo_models["sd"] / "text_encoder", use_safetensors=True)
    changed = [not torch.equal(a, b) for a, b in zip(tuned.parameters(), stock.parameters(), strict=True)]
    assert any(changed)
    assert sorted(p.name for p in (run / "finetune" / "checkpoints").iterdir()) == ["step-2", "step-3"]
    # a longer run continues from step 3 and reproduces the first three steps' log exactly
    longer = _config(tmp_path, demo_models, steps=4)
    assert run_pipeline(load_config(longer), ["finetune"], run)["finetune"]["resumed_from"] == 3
    assert read_jsonl(run / "finetune" / "log.jsonl")[:3] == log
    assert run_pipeline(load_config(longer), ["finetune"], run)["finetune"]["already_done"]


def test_changed_settings_refuse_to_resume(tmp_path: Path, demo_models) -> None:
    run = _run_dir(tmp_path)
    run_pipeline(load_config(_config(tmp_path, demo_models, steps=2)), ["finetune"], run)
    with pytest.raises(Exception, match="different \\[finetune\\] settings"):
        run_pipeline(load_config(_config(tmp_path, demo_models, steps=3, lr=1e-3)), ["finetune"], run)


def test_a_generator_without_the_capability_gets_a_clear_error(tmp_path: Path, demo_models) -> None:
    from tailorgen.registry import Registry
    from tailorgen.registry.roles import Generator

    class Plain(Generator):
        name = "plain"

        def generate(self, prompts, seeds):
            return []

    class Module:
        @staticmethod
        def register_generators(register):
            register(Plain)

    from tailorgen.registry import hookimpl

    Module.register_generators = hookimpl(Module.register_generators)
    ctx = RunContext(load_config(_config(tmp_path, demo_models, generator="plain")), tmp_path / "run")
    ctx.registry = Registry(extra_plugins=[Module])
    with pytest.raises(PluginError, match="needs a generator that can sample with gradients"):
        finetune.validate(ctx)


def test_stage_skips_and_counts_a_nan_loss(tmp_path: Path, demo_models, monkeypatch) -> None:
    from tailorgen.finetune import objective as objective_module

    real = objective_module.lte_loss
    calls = []

    def poisoned(*args, **kwargs):
        calls.append(1)
        loss = real(*args, **kwargs)
        return loss * float("nan") if len(calls) == 2 else loss

    monkeypatch.setattr(objective_module, "lte_loss", poisoned)
    run = _run_dir(tmp_path)
    config = _config(tmp_path, demo_models, steps=3, images_per_step=2)
    summary = run_pipeline(load_config(config), ["finetune"], run)["finetune"]
    log = read_jsonl(run / "finetune" / "log.jsonl")
    assert [r["skipped"] for r in log] == [False, True, False]
    assert summary["skipped_steps"] == 1
    assert [r["images"] for r in log] == [2, 2, 2]
