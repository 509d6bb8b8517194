"""XMem against the official golden fixtures (README sections 5-7, 10), synthetic weights, float32 CPU.

The network is built by ``load_xmem`` exactly as the product builds it on the CPU, so the golden cases run
through the default CPU backend (and the plain torch backend is checked on case A).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from xmem_tui.inference import InferenceCore
from xmem_tui.inference.core import pad_to_multiple
from xmem_tui.inference.cpu_backend import DEFAULT_CPU, backend_of
from xmem_tui.inference.xmem_engine import image_to_tensor, load_xmem
from xmem_tui.model import XMem
from xmem_tui.model.network import aggregate

from .golden import MAX_ABS, MEAN_ABS, accepted, new_worst, update_worst

pytestmark = pytest.mark.slow

CASES = {"A": "case_A_short.npz", "B": "case_B_long_term.npz", "C": "case_C_interactive.npz",
         "D": "case_D_deep_update.npz", "E": "case_E_new_object_eval.npz"}


@pytest.fixture(scope="module")
def net(synth_checkpoint: Callable[[str], Path]) -> XMem:
    """What users run on a CPU: the default backend."""
    network = load_xmem(synth_checkpoint("xmem"), "cpu")
    assert backend_of(network) == DEFAULT_CPU
    return network


def replay(net: XMem, data: np.lib.npyio.NpzFile) -> dict:
    """Execute calls_json; return worst-frame metrics, per-step bookkeeping and events."""
    config = json.loads(str(data["config_json"]))
    masks = dict(zip(data["input_mask_frames"].tolist(), data["input_masks"], strict=True))
    core = InferenceCore(net, config)
    worst = new_worst()
    flags, events = [], []
    for call in json.loads(str(data["calls_json"])):
        if call["call"] == "set_all_labels":
            core.set_all_labels(call["all_labels"])
            continue
        t = call["t"]
        mask = None
        if call["mask"] is not None:
            mask = torch.stack([torch.from_numpy(masks[t] == label).float() for label in core.all_labels])
        out = core.step(image_to_tensor(data["frames"][t]), mask, call["valid_labels"], call["end"]).numpy()
        update_worst(worst, out, data["probs"][t, : data["num_classes_per_frame"][t]], data["argmax"][t])
        memory = core.memory
        flags.append({**{k: core.last_flags[k] for k in ("is_mem_frame", "is_deep_update")},
                      "work_size": memory.work.size, "long_size": memory.long.size,
                      "work_group_sizes": memory.work.group_sizes(),
                      "long_group_sizes": memory.long.group_sizes()})
        events += [{"t": t, **e} for e in memory.events]
        memory.events.clear()
    return {"worst": worst, "flags": flags, "events": events}


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    """Replays shared by the probability and bookkeeping tests of a case."""
    return {}


def _run(case: str, net: XMem, reference_dir: Path, cache: dict[str, dict]) -> tuple[dict, np.lib.npyio.NpzFile]:
    data = np.load(reference_dir / CASES[case])
    if case not in cache:
        cache[case] = replay(net, data)
    return cache[case], data


@pytest.mark.parametrize("case", sorted(CASES))
def test_probabilities_match_official(case: str, net: XMem, reference_dir: Path, results: dict) -> None:
    got, _ = _run(case, net, reference_dir, results)
    w = got["worst"]
    print(f"case {case}: max {w['max']:.2e} mean {w['mean']:.2e} argmax mismatch {w['argmax']:.2e}")
    assert accepted(w), w


@pytest.mark.parametrize("case", sorted(CASES))
def test_bookkeeping_matches_official(case: str, net: XMem, reference_dir: Path, results: dict) -> None:
    got, data = _run(case, net, reference_dir, results)
    assert got["flags"] == json.loads(str(data["flags_json"]))
    assert [f["is_mem_frame"] for f in got["flags"]] == data["is_mem_frame"].tolist()
    assert [f["is_deep_update"] for f in got["flags"]] == data["is_deep_update"].tolist()
    assert [f["work_size"] for f in got["flags"]] == data["work_mem_size"].tolist()
    assert [f["long_size"] for f in got["flags"]] == data["long_mem_size"].tolist()
    assert got["events"] == json.loads(str(data["events_json"]))


def test_torch_backend_matches_too(synth_checkpoint: Callable[[str], Path], reference_dir: Path) -> None:
    """processing.backend = "torch" (the fallback) is golden too."""
    plain = load_xmem(synth_checkpoint("xmem"), "cpu", backend="torch")
    assert backend_of(plain) == "torch"
    w = replay(plain, np.load(reference_dir / CASES["A"]))["worst"]
    print(f"case A, torch backend: max {w['max']:.2e} mean {w['mean']:.2e} argmax {w['argmax']:.2e}")
    assert accepted(w), w


def test_perturbed_weight_fails_the_comparison(net: XMem, reference_dir: Path) -> None:
    bad = copy.deepcopy(net)
    with torch.no_grad():
        bad.decoder.pred.weight.mul_(1 + 1e-3)
    w = replay(bad, np.load(reference_dir / CASES["A"]))["worst"]
    assert w["max"] > MAX_ABS and w["mean"] > MEAN_ABS, w


def _close(ours: torch.Tensor, ref: np.ndarray, rel: float) -> None:
    ref_t = torch.from_numpy(ref)
    assert ours.shape == ref_t.shape
    err = (ours.float() - ref_t).abs().max().item()
    assert err <= rel * ref_t.abs().max().item(), (err, ref_t.abs().max().item())


def test_case_a_intermediates(net: XMem, reference_dir: Path) -> None:
    """Section 7: encoder outputs, value encoder, readout, decoder hidden and logits of frames 0 and 1."""
    d = np.load(reference_dir / CASES["A"])
    config = json.loads(str(d["config_json"]))
    with torch.inference_mode():
        img0, _ = pad_to_multiple(image_to_tensor(d["frames"][0]))
        _close(img0[None], d["f0_padded_image"], 1e-6)
        key, shrink, sel, f16, _, _ = net.encode_key(img0[None])
        for name, ours in (("key", key), ("shrinkage", shrink), ("selection", sel), ("f16", f16)):
            _close(ours, d[f"f0_{name}"], 1e-4)
        onehot = torch.stack([torch.from_numpy(d["input_masks"][0] == k).float() for k in (1, 2)])
        masks_in = aggregate(pad_to_multiple(onehot)[0], dim=0)[1][1:]
        _close(masks_in[None], d["f0_value_encoder_masks_in"], 1e-6)
        hidden0 = torch.zeros(2, 64, *key.shape[-2:])
        value, hidden = net.encode_value(img0[None], f16, hidden0, masks_in, deep_update=True)
        _close(value[None], d["f0_value"], 1e-4)
        _close(hidden[None], d["f0_value_encoder_hidden_out"], 1e-3)

        core = InferenceCore(net, config)
        core.set_all_labels([1, 2])
        core.step(image_to_tensor(d["frames"][0]), onehot)
        img1, _ = pad_to_multiple(image_to_tensor(d["frames"][1]))
        _close(img1[None], d["f1_padded_image"], 1e-6)
        key1, _, sel1, f16_1, f8_1, f4_1 = net.encode_key(img1[None], need_sk=False)
        _close(key1, d["f1_key"], 1e-4)
        _close(sel1, d["f1_selection"], 1e-4)
        _close(f16_1, d["f1_f16"], 1e-4)
        readout = core._read(key1, sel1)
        _close(readout[None], d["f1_memory_readout"], 1e-3)
        _close(core.hidden[None], d["f1_decoder_hidden_in"], 1e-3)
        new_hidden, logits = net.decoder((f16_1, f8_1, f4_1), readout, core.hidden, h_out=True)
        _close(logits[:, 0][None], d["f1_decoder_logits"], 1e-3)
        _close(new_hidden[None], d["f1_decoder_hidden_out"], 1e-3)
        _, agg_logits, _ = net.segment((f16_1, f8_1, f4_1), readout, core.hidden, h_out=False)
        _close(agg_logits[None], d["f1_aggregated_logits"], 1e-3)
