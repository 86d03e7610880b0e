"""``tailorgen publish RUN_DIR --repo-id USER/NAME``: share a trained classifier on the Hugging Face Hub."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["publish"]


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--repo-id", required=True, metavar="USER/NAME", help="Model repo to create or update.")
@click.option("--private", is_flag=True, help="Create the repos as private (ignored for existing repos).")
@click.option(
    "--include-onnx", is_flag=True, help="Also upload export/model.onnx (run the export stage first)."
)
@click.option(
    "--dataset-repo-id", metavar="USER/NAME", help="Also push the synthetic data set to this dataset repo."
)
@click.option(
    "--include-rejected",
    is_flag=True,
    help="Data set: also push rejected images the run kept (generate.keep_rejected).",
)
@click.option(
    "--text-encoder-repo-id",
    metavar="USER/NAME",
    help="Also push the fine-tuned diffusion text encoder (diffusers layout) to this repo.",
)
@click.option(
    "--revision", metavar="BRANCH", help="Commit to this branch (created if missing; default main)."
)
@click.option("--message", "commit_message", help="Commit message.")
@click.option(
    "--space",
    is_flag=True,
    help="Also push a Gradio Space (tailorgen space) to the Space repo of the same USER/NAME.",
)
def publish(
    *,
    run_dir: Path,
    repo_id: str,
    private: bool,
    include_onnx: bool,
    dataset_repo_id: str | None,
    include_rejected: bool,
    text_encoder_repo_id: str | None,
    revision: str | None,
    commit_message: str | None,
    space: bool,
) -> None:
    """Upload the classifier of RUN_DIR with a generated model card (token: `hf auth login` or HF_TOKEN)."""
    from tailorgen.hub import publish as publish_run

    if space:  # before any upload: the Space runs the ONNX export
        from tailorgen.predict.loading import locate

        locate(str(run_dir), "onnx")
    result = publish_run(
        run_dir,
        repo_id,
        private=private,
        include_onnx=include_onnx,
        dataset_repo_id=dataset_repo_id,
        text_encoder_repo_id=text_encoder_repo_id,
        include_rejected=include_rejected,
        revision=revision,
        commit_message=commit_message,
    )
    if space:
        from tailorgen.space.publish import publish_space

        result["space"] = publish_space(
            run_dir, repo_id, private=private, revision=revision, commit_message=commit_message
        )
    click.echo(json.dumps(result, indent=2))
