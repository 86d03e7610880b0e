"""The DualCoOp-style classifier: fusion head, frozen towers, open vocabulary, save/load, loss."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from tailorgen.classifier import Classifier, softmax_asymmetric_loss
from tailorgen.errors import TailorgenError

NAMES = ["cat", "dog", "traffic light"]


def _build(demo_models, fusion_head="global-branch", names=NAMES, seed=0, **kw):
    torch.manual_seed(seed)
    return Classifier.build(
        f"local-dir:{demo_models['clip-rn']}", names, fusion_head=fusion_head, n_ctx=4, **kw
    )


@pytest.fixture(scope="module")
def images(demo_models):
    size = _build(demo_models, "none").image_size
    return torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))


def _sgd_step(model, images, targets, lr=0.05):
    model.train()
    params = model.context_parameters() + model.fusion_parameters()
    loss = softmax_asymmetric_loss(model.logits(images, model.text_features_for(model.label_names)), targets)
    loss.backward()
    with torch.no_grad():
        for p in params:
            p.sub_(lr * p.grad)
    return model.eval()


def test_global_branch_is_identity_at_init_and_learns(demo_models, images):
    plain, fused = _build(demo_models, "none"), _build(demo_models, "global-branch")
    for model in (plain, fused):  # open_clip zero-initialises bn3, which would mute every conv2 (and branch)
        for name, param in model.clip.visual.named_parameters():
            if name.endswith("bn3.weight"):
                param.data.fill_(1.0)
        model.eval()
    assert len(fused.fusion_parameters()) == 4 * 8  # 4 bottlenecks x 8 tensors in the tiny RN
    with torch.no_grad():
        assert torch.equal(plain(images), fused(images))
    before = fused.prompt.ctx_pos.detach().clone()
    _sgd_step(fused, images, torch.tensor([[1.0, 0, 1], [0, 1, 0]]))
    plain.prompt.load_state_dict(fused.prompt.state_dict())  # same contexts: only the branches differ
    plain.eval()
    assert not torch.equal(before, fused.prompt.ctx_pos.detach())
    with torch.no_grad():  # logits, not probabilities: those saturate in a random tiny model
        assert not torch.allclose(
            plain.logits(images, plain.text_features), fused.logits(images, fused.text_features)
        )


def test_only_contexts_and_fusion_parameters_get_gradients(demo_models, images):
    model = _build(demo_models, "global-branch").train()
    loss = softmax_asymmetric_loss(model.logits(images, model.text_features_for(NAMES)), torch.ones(2, 3))
    loss.backward()
    trainable = {id(p) for p in model.context_parameters() + model.fusion_parameters()}
    with_grad = {id(p) for p in model.parameters() if p.grad is not None}
    assert with_grad == trainable
    assert all(not p.requires_grad for p in model.clip.parameters() if id(p) not in trainable)
    # frozen batch norms keep their running statistics in train mode
    bn = model.clip.visual.bn1
    assert not bn.training


def test_round_trip_without_backbone_dir(demo_models, images, tmp_path):
    backbone = shutil.copytree(demo_models["clip-rn"], tmp_path / "backbone")
    torch.manual_seed(3)
    model = Classifier.build(
        f"local-dir:{backbone}",
        NAMES,
        fusion_head="global-branch",
        n_ctx=4,
        seen=["cat"],
        unseen=["dog", "traffic light"],
    )
    model = _sgd_step(model, images, torch.tensor([[1.0, 0, 1], [0, 1, 0]]))
    model.save_pretrained(tmp_path / "saved")
    shutil.rmtree(backbone)
    loaded = Classifier.from_pretrained(tmp_path / "saved")
    config = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert config["label_names"] == NAMES
    assert config["unseen"] == ["dog", "traffic light"]
    assert (config["fusion_head"], config["n_ctx"]) == ("global-branch", 4)
    assert {"image_size", "mean", "std", "interpolation"} <= set(config["preprocess"])
    with torch.no_grad():
        assert torch.equal(loaded(images), model(images))
    assert loaded.transform()(__import__("PIL.Image").Image.new("RGB", (90, 70))).shape == images.shape[1:]


def test_open_vocabulary_scores_match_a_model_built_for_those_names(demo_models, images):
    trained = _sgd_step(_build(demo_models), images, torch.tensor([[1.0, 0, 1], [0, 1, 0]]))
    unseen = ["zebra", "hair drier"]
    other = _build(demo_models, names=unseen)
    other.load_state_dict(trained.state_dict())
    other.eval()
    with torch.no_grad():
        scores = trained.score(images, unseen)
        assert scores.shape == (2, 2)
        assert torch.allclose(scores, other(images), atol=1e-6)
        # the names themselves matter (logits: probabilities of a random tiny model saturate)
        by_name = trained.logits(images, trained.text_features_for([*unseen, "cat"]))
        assert not torch.allclose(by_name[..., 0], by_name[..., 1])
        assert not torch.allclose(by_name[..., 0], by_name[..., 2])


def test_loss_matches_a_hand_computed_case():
    logits = torch.tensor([[[0.0, 1.0], [2.0, 0.0]]])  # (B=1, [neg, pos], C=2)
    targets = torch.tensor([[1.0, 0.0]])
    p_pos0 = torch.sigmoid(torch.tensor(2.0))  # label 0: softmax([0, 2])[1]
    p_neg1 = torch.sigmoid(torch.tensor(1.0))  # label 1: softmax([1, 0])[0]
    p_neg1_clipped = min(float(p_neg1) + 0.05, 1.0)
    expected = -0.01 * (
        (1 - p_pos0) ** 1 * torch.log(p_pos0)
        + (1 - p_neg1_clipped) ** 2 * torch.log(torch.tensor(p_neg1_clipped))
    )
    got = softmax_asymmetric_loss(logits, targets)
    assert torch.allclose(got, expected, atol=1e-7)


def test_loss_focusing_weights_carry_no_gradient():
    logits = torch.tensor([[[0.3], [0.1]]], requires_grad=True)
    softmax_asymmetric_loss(logits, torch.ones(1, 1), gamma_pos=1.0, clip=0.0, weight=1.0).backward()
    p = torch.sigmoid(torch.tensor(-0.2))  # p+ = softmax([0.3, 0.1])[1]
    # d/dl+ of -(1 - p) * log p with (1 - p) constant = -(1 - p) * (1 - p)
    assert torch.allclose(logits.grad[0, 1, 0], -((1 - p) ** 2), atol=1e-6)


def test_from_pretrained_refuses_bad_folders(demo_models, tmp_path):
    saved = tmp_path / "ok"
    _build(demo_models, "none").save_pretrained(saved)
    no_config = shutil.copytree(saved, tmp_path / "no_config")
    (no_config / "config.json").unlink()
    no_labels = shutil.copytree(saved, tmp_path / "no_labels")
    config = json.loads((no_labels / "config.json").read_text())
    del config["label_names"]
    (no_labels / "config.json").write_text(json.dumps(config))
    pickled = shutil.copytree(saved, tmp_path / "pickled")
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    for bad, needle in [
        (no_config, "config.json"),
        (no_labels, "label_names"),
        (pickled, "pickled"),
        (tmp_path / "missing", "neither a local folder nor a Hub repo id"),
        (saved / "config.json", "not a folder"),
    ]:
        with pytest.raises(TailorgenError, match=needle):
            Classifier.from_pretrained(bad)


def test_bad_build_arguments_are_clear(demo_models):
    with pytest.raises(TailorgenError, match="n_ctx"):
        Classifier.build(f"local-dir:{demo_models['clip-rn']}", NAMES, n_ctx=200)
    with pytest.raises(TailorgenError, match="ModifiedResNet"):
        Classifier.build(f"local-dir:{demo_models['clip-vit']}", NAMES)
    with pytest.raises(TailorgenError, match="fusion_head"):
        _build(demo_models, "no-such-head")


def test_global_branch_matches_the_formula_written_out():
    from tailorgen.classifier.global_branch import GlobalBranch

    torch.manual_seed(0)
    branch = GlobalBranch(channels=8, heads=2, reduction=4, init_scale=0.5)
    x = torch.randn(1, 8, 3, 2)
    got = branch(x)
    low = torch.relu(branch.reduce[0](x))[0]  # (2, 3, 2)
    z = torch.cat([low, low.mean(dim=(1, 2), keepdim=True).expand_as(low)])
    expected = torch.zeros(8, 3, 2)
    for h in range(2):
        a = torch.einsum("c,cij->ij", branch.attend.weight[h, :, 0, 0], z) + branch.attend.bias[h]
        a = torch.softmax(a.flatten(), dim=0).view(3, 2)
        b = torch.sigmoid(torch.einsum("c,cij->ij", branch.gate.weight[h, :, 0, 0], z) + branch.gate.bias[h])
        group = x[0, 4 * h : 4 * h + 4]
        v = (group * a).sum(dim=(1, 2))
        expected[4 * h : 4 * h + 4] = v[:, None, None] * b
    expected = expected * branch.scale.view(-1, 1, 1) + branch.shift.view(-1, 1, 1)
    assert torch.allclose(got[0], expected, atol=1e-6)


def test_global_branch_rejects_heads_that_do_not_divide_the_width(demo_models):
    with pytest.raises(TailorgenError, match="heads"):
        _build(demo_models, "global-branch", fusion_options={"heads": 3})


def test_text_checkpointing_gives_the_same_gradients(demo_models, images):
    grads = []
    for checkpointing in (False, True):
        model = _build(demo_models, "none").train()
        model.clip.transformer.grad_checkpointing = checkpointing
        loss = softmax_asymmetric_loss(model.logits(images, model.text_features_for(NAMES)), torch.ones(2, 3))
        loss.backward()
        grads.append(model.prompt.ctx_pos.grad.clone())
    assert grads[0].abs().sum() > 0
    assert torch.allclose(grads[0], grads[1], atol=1e-6)
