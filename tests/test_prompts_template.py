"""The template writer on the COCO 48/17 preset: every set gets 10 valid, varied prompts."""

from __future__ import annotations

from pathlib import Path

from tailorgen.config import load_config
from tailorgen.io import read_jsonl
from tailorgen.prompting import write_prompts


def test_template_writer_covers_coco_48_17_with_distinct2_over_037(tmp_path: Path) -> None:
    cfg = tmp_path / "coco.toml"
    cfg.write_text(
        'labels = "coco-48-17"\n[prompt_writer]\nplugin = "template"\n'
        "[prompts]\nprompts_per_set = 10\nmax_retries = 0\nfill_from_template = false\n"
    )
    summary = write_prompts(load_config(cfg), tmp_path / "run")
    records = read_jsonl(tmp_path / "run" / "prompts.jsonl")
    accepted = [r for r in records if r["accepted"]]
    per_set: dict[str, int] = {}
    for record in accepted:
        per_set[record["set_id"]] = per_set.get(record["set_id"], 0) + 1
    assert len(per_set) == 149
    assert set(per_set.values()) == {10}
    assert summary["short_sets"] == 0
    import json

    report = json.loads((tmp_path / "run" / "prompts_report.json").read_text())
    assert report["writers"]["template"]["coverage"] == 1.0
    assert report["all"]["distinct_2"] >= 0.37
    assert report["all"]["mean_words"] >= 10
    texts = [r["text"] for r in accepted]
    assert len(set(texts)) == len(texts)
