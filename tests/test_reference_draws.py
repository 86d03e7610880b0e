"""Label-set draws, synthetic image files, losses and small switches against the reference's code path.

The reference's draw (its generation and L_TE loops): ``k`` times ``random.choice(all_label)``,
``remove_duplication`` (order-preserving), and, in the COCO loops only, one more
``random.choice`` for a set left short, deduplicated again.
"""

from __future__ import annotations

import io
import math
import random
from types import SimpleNamespace

import pytest
import torch
from PIL import Image
from tailorgen.classifier.global_branch import GlobalBranch
from tailorgen.classifier.loss import softmax_asymmetric_loss
from tailorgen.data.label_sampling import draw_independent
from tailorgen.finetune.loss import lte_loss
from tailorgen.finetune.prompt_pool import PromptPool
from tailorgen.plugins.hf_chat_model import reply_budget
from tailorgen.synthetic.store import ImageStore

COCO_UNSEEN = [f"c{i:02d}" for i in range(17)]
NUS_UNSEEN = [f"n{i:02d}" for i in range(81)]


def reference_draw(rng: random.Random, all_label: list[str], k: int, extra: bool) -> list[str]:
    classes = [rng.choice(all_label) for _ in range(k)]
    classes = sorted(set(classes), key=classes.index)
    if extra and len(classes) < k:
        classes.append(rng.choice(all_label))
        classes = sorted(set(classes), key=classes.index)
    return classes


@pytest.mark.parametrize(
    ("labels", "extra", "share"), [(COCO_UNSEEN, True, 1 / 17**2), (NUS_UNSEEN, False, 1 / 81)]
)
def test_draw_independent_is_the_reference_draw(labels: list[str], extra: bool, share: float) -> None:
    ours, theirs = random.Random(5), random.Random(5)
    draws = [draw_independent(ours, labels, 2, extra_draw=extra) for _ in range(100_000)]
    assert draws == [reference_draw(theirs, labels, 2, extra) for _ in range(100_000)]
    singles = sum(len(d) == 1 for d in draws) / len(draws)
    assert singles == pytest.approx(share, rel=0.12)  # COCO 0.35%, NUS-WIDE 1.2% single-label sets


def _coco_like_pool() -> PromptPool:
    sets = [(a,) for a in COCO_UNSEEN] + [
        (a, b) for i, a in enumerate(COCO_UNSEEN) for b in COCO_UNSEEN[i + 1 :] if (a, b) != ("c00", "c01")
    ]
    return PromptPool.from_records(
        ({"accepted": True, "labels": list(s), "text": f"a photo of {' and '.join(s)}"} for s in sets),
        COCO_UNSEEN,
    )


def test_lte_generation_draw_gives_the_reference_share_of_single_label_sets() -> None:
    pool = _coco_like_pool()
    uniform = [pool.draw(seed)[0] for seed in range(20_000)]
    generation = [pool.draw(seed, label_sets="generation")[0] for seed in range(20_000)]
    assert sum(len(s) == 1 for s in uniform) / 20_000 == pytest.approx(17 / 152, abs=0.01)  # about 11%
    assert sum(len(s) == 1 for s in generation) / 20_000 == pytest.approx(1 / 17**2, abs=0.002)
    assert ("c00", "c01") not in generation  # a set without prompts is drawn again
    no_extra = [pool.draw(seed, label_sets="generation", extra_draw=False)[0] for seed in range(20_000)]
    assert sum(len(s) == 1 for s in no_extra) / 20_000 == pytest.approx(1 / 17, abs=0.01)


def _image() -> Image.Image:
    return Image.fromarray(torch.randint(0, 255, (48, 48, 3), dtype=torch.uint8).numpy())


def test_jpeg_images_are_the_references_pil_default_jpeg(tmp_path) -> None:  # type: ignore[no-untyped-def]
    image = _image()
    store = ImageStore(tmp_path, 0, "d", keep_rejected=False, image_format="jpeg", jpeg_quality=75)
    record = {"id": 0, "file_name": "images/000000.png", "accepted": True}
    store.save([record], [image])
    assert record["file_name"] == "images/000000.jpg"
    reference = io.BytesIO()
    image.save(reference, format="JPEG")  # the reference's image.save("....jpg"): PIL's quality 75
    assert (tmp_path / "images" / "000000.jpg").read_bytes() == reference.getvalue()
    png = ImageStore(tmp_path, 0, "d", keep_rejected=False)
    assert png.digest != store.digest  # switching format redoes the images, never mixes them


def test_lte_log_clamp_is_the_references_clamped_log() -> None:
    log_v = torch.tensor([[math.log(1e-12), math.log(0.01)]], requires_grad=True)
    targets = torch.tensor([[True, False]])
    clamped = lte_loss(log_v, targets, log_clamp=1e-8)
    assert float(clamped.detach()) == pytest.approx(-math.log(1e-8))
    clamped.backward()
    assert log_v.grad[0, 0] == 0  # below the clamp: a constant, no gradient
    exact = lte_loss(log_v.detach().requires_grad_(), targets)
    assert float(exact.detach()) == pytest.approx(-math.log(1e-12))


def test_classifier_loss_eps_is_the_log_clamp() -> None:
    logits = torch.tensor([[[60.0], [-60.0]]])  # p(positive) underflows to 0
    loss = softmax_asymmetric_loss(logits, torch.ones(1, 1), weight=1.0, eps=1e-6)
    assert float(loss) == pytest.approx(-math.log(1e-6))


def test_fusion_init_std_draws_the_references_normal_scale() -> None:
    torch.manual_seed(0)
    branch = GlobalBranch(4096, init_std=1e-4)
    assert float(branch.scale.detach().std()) == pytest.approx(1e-4, rel=0.05)
    assert abs(float(branch.scale.mean())) < 1e-5
    assert torch.count_nonzero(GlobalBranch(64).scale) == 0  # the clean default: zero


def test_total_token_cap_is_llamas_max_seq_len() -> None:
    capped = SimpleNamespace(max_new_tokens=512, max_total_tokens=512)
    assert reply_budget(180, capped) == 332
    assert reply_budget(180, SimpleNamespace(max_new_tokens=512, max_total_tokens=None)) == 512
    assert reply_budget(600, capped) == 1


def test_score_metrics_columns_file_reads_scores_in_another_label_order(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    import numpy as np
    from tailorgen.cli import main
    from tailorgen.data.labels import load_label_set
    from tailorgen.evaluation.protocol import evaluate_settings

    coco = load_label_set("coco-48-17")
    rng = np.random.default_rng(0)
    scores, labels = rng.random((30, len(coco.names))), rng.random((30, len(coco.names))) < 0.1
    order = rng.permutation(len(coco.names))  # another code base's column order, e.g. all_labels.txt
    np.save(tmp_path / "s.npy", scores[:, order])
    np.save(tmp_path / "t.npy", labels[:, order])
    (tmp_path / "order.txt").write_text("\n".join(coco.names[i] for i in order) + "\n")
    main(["score-metrics", str(tmp_path / "s.npy"), str(tmp_path / "t.npy"), "--label-set", "coco-48-17",
          "--columns", str(tmp_path / "order.txt"), "--json"])  # fmt: skip
    got, expected = json.loads(capsys.readouterr().out), evaluate_settings(scores, labels, coco)
    for setting in ("zsl", "gzsl"):
        assert got[setting] == pytest.approx(expected[setting])
    (tmp_path / "bad.txt").write_text("\n".join(["nope", *coco.names[1:]]))
    with pytest.raises(SystemExit):
        main(["score-metrics", str(tmp_path / "s.npy"), str(tmp_path / "t.npy"), "--label-set", "coco-48-17",
              "--columns", str(tmp_path / "bad.txt")])  # fmt: skip
    assert "labels not in the label set: nope" in capsys.readouterr().err


def reference_pool_after(
    accepted_images: list[list[str]], all_label: list[str], syn_num: int
) -> list[list[str]]:
    """The reference's NUS-WIDE pool after each accepted image (its ``images_num`` / ``all_label`` loop)."""
    all_label, images_num, pools = list(all_label), dict.fromkeys(all_label, 0), []
    for label in accepted_images:
        for name in label:
            if images_num[name] == syn_num and name in all_label:
                all_label.remove(name)
            else:
                images_num[name] += 1
        pools.append(list(all_label))
    return pools


def test_label_quota_retires_labels_as_the_reference_loop_does() -> None:
    from tailorgen.finetune.label_quota import LabelQuota

    rng = random.Random(0)
    names = [f"n{i}" for i in range(6)]
    images = [rng.sample(names, rng.randint(1, 3)) for _ in range(60)]
    quota, expected = LabelQuota(3), reference_pool_after(images, names, 3)
    for image, pool in zip(images, expected, strict=True):
        quota.observe({"credited": [image]})  # one step, one draw, one accepted image
        assert sorted(set(names) - quota.retired) == sorted(pool)
    assert quota.retired  # some labels did leave


def test_generation_draw_skips_retired_labels_until_none_is_left() -> None:
    pool = _coco_like_pool()
    retired = set(COCO_UNSEEN[:15])
    drawn = {
        label for seed in range(500) for label in pool.draw(seed, label_sets="generation", retired=retired)[0]
    }
    assert drawn == {"c15", "c16"}
    everything = {
        label
        for seed in range(500)
        for label in pool.draw(seed, label_sets="generation", retired=set(COCO_UNSEEN))[0]
    }
    assert everything == set(COCO_UNSEEN)  # all retired: the reference would crash; the full pool is used


def test_the_trainer_shows_every_step_to_an_observing_objective_also_after_a_resume(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tailorgen.finetune import CheckpointStore, MicroStep, TrainerConfig, train_text_encoder
    from test_finetune_trainer import _Toy

    toy = _Toy()

    class Observing:
        def __init__(self) -> None:
            self.seen: list[int] = []

        def observe(self, record: dict) -> None:
            self.seen.append(record["step"])
            assert record["credited"] == [[f"label{record['step'] - 1}"]]

        def __call__(self, step: int, micro: int) -> MicroStep:
            loss = toy.layer(torch.ones(4)).pow(2).sum()
            return MicroStep(loss=loss, accepted=1, images=1, labels=("a",), credited=(f"label{step}",))

    def train(steps: int, compute: Observing) -> None:
        config = TrainerConfig(steps=steps, lr=0.01, checkpoint_every=2)
        train_text_encoder(
            toy, compute, config, store=CheckpointStore(tmp_path / "c"), log=tmp_path / "log.jsonl",
            save_encoder=toy.save,
        )  # fmt: skip

    first, resumed = Observing(), Observing()
    train(2, first)
    train(4, resumed)
    assert first.seen == [1, 2]
    assert resumed.seen == [1, 2, 3, 4]  # steps 1-2 replayed from the log, then 3-4 run
