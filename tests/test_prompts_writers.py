"""Writers on their own: file (JSONL and folder), hf-chat's per-row seeding, embedding maths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tailorgen.errors import ConfigError
from tailorgen.io import read_jsonl
from tailorgen.prompting import PromptRequest, write_prompts
from tailorgen.prompting.embedding import mean_pairwise_cosine_distance
from tailorgen.registry import create_prompt_writer

GOOD = "a tabby cat sleeping next to a brown dog on a sunny porch in summer"


def _config(tmp_path: Path, source: Path, extra: str = "") -> Path:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        'labels = { labels = ["cat", "dog", "cow"] }\n'
        f'[prompt_writer]\nplugin = "file"\noptions = {{ path = "{source}" }}\n'
        f'[prompts]\nprompts_per_set = 2\nsets = [["cat", "dog"], ["cow"]]\n{extra}'
    )
    return cfg


def test_file_writer_jsonl_goes_through_validation_and_fill(tmp_path: Path) -> None:
    source = tmp_path / "mine.jsonl"
    rows = [
        {"labels": ["dog", "cat"], "text": GOOD},
        {
            "labels": ["cat", "dog"],
            "prompts": ["Sure! Here you go:", "a dog alone", GOOD.replace("tabby", "grey")],
        },
        {"labels": ["cat", "dog"], "text": "a dog running across a wide green field with tall grass today"},
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_prompts(_config(tmp_path, source), tmp_path / "run")
    records = read_jsonl(tmp_path / "run" / "prompts.jsonl")
    pair = [r for r in records if r["set_id"] == "cat+dog"]
    assert [(r["text"], r["reason"]) for r in pair] == [
        (GOOD, None),
        ("a dog alone", "missing-label"),
        (GOOD.replace("tabby", "grey"), "near-duplicate"),
        ("a dog running across a wide green field with tall grass today", "missing-label"),
        *[(r["text"], None) for r in pair[4:]],
    ]
    assert {r["path"] for r in pair} == {"ask", "fill"}  # a file is never re-asked
    cow = [r for r in records if r["set_id"] == "cow"]
    assert [r["path"] for r in cow] == ["fill", "fill"]  # nothing in the file: template fills it
    assert all(r["writer"] == "template" for r in cow)


def test_file_writer_folder_and_short_sets_without_fill(tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "dog+cat.txt").write_text(
        f"1. {GOOD}\n2. a cat and a dog in a quiet kitchen at night near the window\n"
    )
    cfg = _config(tmp_path, folder, "fill_from_template = false\n")
    summary = write_prompts(cfg, tmp_path / "run")
    assert summary["short_sets"] == 1
    report = json.loads((tmp_path / "run" / "prompts_report.json").read_text())
    assert report["short_sets"] == ["cow"]
    assert report["writers"]["file"]["accepted"] == 2


def test_file_writer_bad_line_names_the_line(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text(json.dumps({"labels": ["cat"], "text": GOOD}) + "\n{not json\n")
    writer = create_prompt_writer("file", path=str(source))
    with pytest.raises(ConfigError, match=r"bad.jsonl:2: not a prompt record"):
        writer.write([PromptRequest("cat", ("cat",))])


def test_hf_chat_reply_depends_on_its_seed_not_its_batch(demo_models: dict[str, Path]) -> None:
    writer = create_prompt_writer("hf-chat", model=str(demo_models["lm"]), max_new_tokens=12, device="cpu")
    alone = writer.write([PromptRequest("cat", ("cat",), 3, seed=11)])
    batch = writer.write(
        [PromptRequest("cat+dog", ("cat", "dog"), 3, seed=5), PromptRequest("cat", ("cat",), 3, seed=11)]
    )
    assert batch[1] == alone[0]
    other = writer.write([PromptRequest("cat", ("cat",), 3, seed=12)])
    assert other[0] != alone[0]


def test_hf_chat_without_model_is_a_clear_error(tmp_path: Path) -> None:
    writer = create_prompt_writer("hf-chat", model=str(tmp_path / "nowhere"), device="cpu")
    with pytest.raises(Exception, match="cannot load chat LM") as info:
        writer.write([PromptRequest("cat", ("cat",))])
    assert type(info.value).__name__ == "TailorgenError"


def test_mean_pairwise_cosine_distance_matches_brute_force() -> None:
    emb = torch.nn.functional.normalize(torch.randn(7, 5, generator=torch.Generator().manual_seed(0)), dim=-1)
    cos = emb @ emb.T
    brute = 1 - (cos.sum() - cos.diagonal().sum()) / (7 * 6)
    assert mean_pairwise_cosine_distance(emb) == pytest.approx(float(brute), abs=1e-6)
    assert mean_pairwise_cosine_distance(emb[:1]) == 0.0


def test_instruction_joins_labels_with_next_to() -> None:
    from tailorgen.plugins.hf_chat import HFChatOptions
    from tailorgen.prompting.dialog import instruction_for

    text = instruction_for(HFChatOptions(), PromptRequest("cat+dog", ("cat", "dog"), 10, min_words=10))
    assert "cat next to dog" in text
    assert "10 different one-phrase" in text
    assert "at least 10 words" in text
    custom = HFChatOptions(instruction="{count} scenes with {label_list}; {{literal}}")
    assert (
        instruction_for(custom, PromptRequest("a+b+c", ("a", "b", "c"), 4))
        == "4 scenes with a, b and c; {literal}"
    )


def test_default_dialog_is_the_reference_painter_dialog() -> None:
    from tailorgen.plugins.hf_chat import HFChatOptions
    from tailorgen.prompting.dialog import chat_messages

    pair = chat_messages(HFChatOptions(), PromptRequest("cat+dog", ("cat", "dog"), 10, min_words=10))
    assert pair == [
        {
            "role": "user",
            "content": "Please forget the previous keywords. Now, if you are a painter, I have a few key words "
            "for you. Please create a picture that contains both of the key words I have given. Can you "
            'describe the painting you will create in one phrase? Use "next to" between two keywords.',
        },
        {"role": "assistant", "content": "Please enter keywords."},
        {
            "role": "user",
            "content": 'Now, I give keywords "a cat" and "a dog", please generate 10 different phrases that '
            "satisfies the condition. And each phrase should contain no less than 10 words.",
        },
    ]
    single = chat_messages(
        HFChatOptions(system_prompt="Be brief."), PromptRequest("cow", ("cow",), 4, min_words=8)
    )
    assert single[0] == {"role": "system", "content": "Be brief."}
    assert single[1]["content"].endswith("in one phrase?")  # no "next to" sentence for one label
    assert single[3]["content"] == (
        'Now, I give keywords "a cow", please generate 4 different phrases that satisfies the '
        "condition. And each phrase should contain no less than 8 words."
    )
    one_message = chat_messages(HFChatOptions(dialog="instruction"), PromptRequest("cow", ("cow",), 4))
    assert [m["role"] for m in one_message] == ["user"]
    assert "scene that contains cow" in one_message[0]["content"]


def test_api_with_a_run_context_writes_the_same_file(tmp_path: Path) -> None:
    from tailorgen.config import load_config
    from tailorgen.context import RunContext

    cfg = tmp_path / "c.toml"
    cfg.write_text('labels = "coco-48-17"\n[prompt_writer]\nplugin = "template"\n[prompts]\nn_sets = 4\n')
    write_prompts(cfg, tmp_path / "a")
    write_prompts(RunContext(load_config(cfg), tmp_path / "b"))
    assert (tmp_path / "a" / "prompts.jsonl").read_bytes() == (tmp_path / "b" / "prompts.jsonl").read_bytes()
