"""``tailorgen demo --stages prompts,finetune`` offline on CPU, then generation with the tuned encoder."""

from __future__ import annotations

from pathlib import Path

import torch
from click.testing import CliRunner
from tailorgen.cli import cli


def test_demo_finetunes_and_generation_uses_the_encoder(demo_models, tmp_path: Path, monkeypatch) -> None:
    from tailorgen.config import load_config
    from tailorgen.context import RunContext
    from tailorgen.synthetic.specs import generator_spec
    from transformers import CLIPTextModel

    models_dir = demo_models["sd"].parent
    monkeypatch.setenv("TAILORGEN_DEMO_MODELS", str(models_dir))
    run = tmp_path / "RUN"
    result = CliRunner().invoke(cli, ["--quiet", "demo", "--out", str(run), "--stages", "prompts,finetune"])
    assert result.exit_code == 0, result.output
    encoder_dir = run / "finetune" / "text_encoder"
    tuned = CLIPTextModel.from_pretrained(encoder_dir, use_safetensors=True)
    stock = CLIPTextModel.from_pretrained(demo_models["sd"] / "text_encoder", use_safetensors=True)
    tuned_params = dict(tuned.named_parameters())
    assert any(not torch.equal(p, tuned_params[n]) for n, p in stock.named_parameters())

    overrides = ["generate.quota=1", "generate.max_attempts_per_label=1"]
    args = ["--quiet", "demo", "--out", str(run), "--stages", "generate"]
    result = CliRunner().invoke(cli, [*args, *(x for o in overrides for x in ("--set", o))])
    assert result.exit_code == 0, result.output
    assert f"fine-tuned, from {encoder_dir}" in (run / "synthetic" / "README.md").read_text()

    # the generator the generate stage builds draws with exactly these weights
    config = load_config(run / "config.toml")
    ctx = RunContext(config, run)
    spec, encoder = generator_spec(ctx, True)
    assert encoder == encoder_dir
    pipeline_encoder = ctx.create("generator", spec=spec).pipeline.text_encoder
    for name, param in pipeline_encoder.named_parameters():
        torch.testing.assert_close(param.float(), tuned_params[name], rtol=0, atol=0)
