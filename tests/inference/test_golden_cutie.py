"""Cutie against the official golden fixtures (../shared/reference/cutie), synthetic weights, float32 CPU.

The weights are synthesized once per session, saved to a real ``.pth`` and loaded through
``Cutie.from_checkpoint``; each case replays the recorded ``step`` calls through ``CutieCore``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from xmem_tui.inference import CutieCore
from xmem_tui.inference.core import pad_to_multiple
from xmem_tui.inference.cutie_engine import load_cutie
from xmem_tui.model import Cutie

from .golden import MEAN_ABS, accepted, new_worst, update_worst

pytestmark = pytest.mark.slow

CASES = {"A": "case_A_short.npz", "B": "case_B_add_objects.npz", "C": "case_C_long_term.npz"}


@pytest.fixture(scope="module")
def net(synth_checkpoint: Callable[[str], Path]) -> Cutie:
    """What users run on a CPU: ``load_cutie`` (``Cutie.from_checkpoint`` placed with the default backend)."""
    return load_cutie(synth_checkpoint("cutie_base"), "cpu")


def _image(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frame).permute(2, 0, 1).float() / 255


def replay(net: Cutie, data: np.lib.npyio.NpzFile) -> dict:
    """Execute calls_json; return the worst frame's metrics and the memory sizes after every step."""
    masks = dict(zip(data["input_mask_frames"].tolist(), data["input_masks"], strict=True))
    calls = json.loads(str(data["calls_json"]))
    core = CutieCore(net, json.loads(str(data["config_json"])))
    worst = new_worst()
    work, long = [], []
    for i, call in enumerate(calls):
        t = call["t"]
        mask = torch.from_numpy(masks[t].astype(np.int64)) if call["mask"] else None
        out = core.step(_image(data["frames"][call["frame"]]), mask, call.get("objects"),
                        end=i == len(calls) - 1).numpy()
        update_worst(worst, out, data["probs"][t, : data["num_classes_per_frame"][t]], data["argmax"][t])
        work.append(core.memory.work_tokens)
        long.append(core.memory.long_tokens)
    return {"worst": worst, "work": work, "long": long}


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    """Replays shared by the probability and memory-size tests of a case."""
    return {}


def _run(case: str, net: Cutie, reference_dir: Path, cache: dict[str, dict]) -> tuple[dict, np.lib.npyio.NpzFile]:
    data = np.load(reference_dir / "cutie" / CASES[case])
    if case not in cache:
        cache[case] = replay(net, data)
    return cache[case], data


@pytest.mark.parametrize("case", sorted(CASES))
def test_probabilities_match_official(case: str, net: Cutie, reference_dir: Path, results: dict) -> None:
    got, _ = _run(case, net, reference_dir, results)
    w = got["worst"]
    print(f"Cutie case {case}: max {w['max']:.2e} mean {w['mean']:.2e} argmax mismatch {w['argmax']:.2e}")
    assert accepted(w), w


@pytest.mark.parametrize("case", sorted(CASES))
def test_memory_sizes_match_official(case: str, net: Cutie, reference_dir: Path, results: dict) -> None:
    got, data = _run(case, net, reference_dir, results)
    assert got["work"] == data["work_mem_tokens"].tolist()
    assert got["long"] == data["long_mem_tokens"].tolist()


@pytest.mark.parametrize("key", ["pixel_encoder.conv1.weight", "mask_decoder.pred.weight"])
def test_perturbed_weight_fails_the_comparison(key: str, net: Cutie, reference_dir: Path) -> None:
    """README sensitivity: x (1 + 1e-3) on one tensor stays under the max bound but fails the mean one."""
    bad = copy.deepcopy(net)
    with torch.no_grad():
        bad.get_parameter(key).mul_(1 + 1e-3)
    w = replay(bad, np.load(reference_dir / "cutie" / CASES["A"]))["worst"]
    assert w["mean"] > MEAN_ABS and not accepted(w), w


def _close(ours: torch.Tensor, ref: np.ndarray, rel: float) -> None:
    ref_t = torch.from_numpy(ref)
    assert tuple(ours.shape) == tuple(ref_t.shape)
    err = (ours.float() - ref_t).abs().max().item()
    assert err <= rel * ref_t.abs().max().item(), (err, ref_t.abs().max().item())


def test_case_a_intermediates_stage_by_stage(net: Cutie, reference_dir: Path) -> None:
    """Encoders, mask encoding (step 0); memory readout, pixel fusion, object transformer, decoder (step 1)."""
    inter = np.load(reference_dir / "cutie" / "intermediates_A_short.npz")
    data = np.load(reference_dir / "cutie" / CASES["A"])
    core = CutieCore(net, json.loads(str(data["config_json"])))
    mask0 = torch.from_numpy(data["input_masks"][0].astype(np.int64))
    with torch.inference_mode():
        images = [pad_to_multiple(_image(data["frames"][t]))[0][None] for t in (0, 1)]
        for t, image in enumerate(images):
            (f16, f8, f4), pix = net.encode_image(image)
            for i, ours in enumerate((f16, f8, f4)):
                _close(ours, inter[f"t{t}.encode_image#0.0.{i}"], 1e-4)
            _close(pix, inter[f"t{t}.encode_image#0.1"], 1e-4)
            for i, ours in enumerate(net.transform_key(f16)):
                _close(ours, inter[f"t{t}.transform_key#0.{i}"], 1e-4)
        (f16, _, _), pix = net.encode_image(images[0])
        first = core.step(_image(data["frames"][0]), mask0, [1])
        prob0 = pad_to_multiple(first)[0][1:]
        value, sensory, summaries = net.encode_mask(images[0], pix, torch.zeros(1, 256, 9, 15), prob0)
        for i, ours in enumerate((value, sensory, summaries)):
            _close(ours[None], inter[f"t0.encode_mask#0.{i}"], 1e-4)

        ms, pix = net.encode_image(images[1])
        key, _, selection = net.transform_key(ms[0])
        bucket = core.memory.buckets[0]
        rows = (lambda x: x[0].flatten(1).T)  # noqa: E731
        visual = core.memory.read(bucket, rows(key), rows(selection)).T.reshape(1, 256, 9, 15)
        sensory = core.memory.sensory[1][None]
        fused = net.pixel_fusion(pix, visual, sensory, core.last_mask)
        _close(fused[None], inter["t1.pixel_fusion#0"], 1e-3)
        pixel, aux = net.readout_query(fused, core.memory.summaries[1][None], need_aux=True)
        _close(pixel[None], inter["t1.readout_query#0.0"], 1e-3)
        assert len(aux) == 4
        for i, logits in enumerate(aux):
            _close(logits[None], inter[f"t1.readout_query#0.1.logits.{i}"], 1e-3)
        new_sensory, logits, prob = net.segment(ms, pixel, sensory)
        _close(new_sensory[None], inter["t1.segment#0.0"], 1e-3)
        _close(logits[None], inter["t1.segment#0.1"], 1e-3)
        _close(prob[None], inter["t1.segment#0.2"], 1e-3)
