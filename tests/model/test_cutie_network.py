"""Cutie network: official state-dict schema, strict loading of files, dimension inference, small variant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import torch

from xmem_tui.errors import CheckpointError
from xmem_tui.model import Cutie, CutieConfig
from xmem_tui.model.cutie.blocks import eca_kernel_size
from xmem_tui.model.cutie.network import other_objects

#: a narrow ResNet-18 variant that runs in milliseconds (every width differs from the base model)
TINY = CutieConfig(pixel_encoder_depth=18, pixel_dim=32, key_dim=16, value_dim=24, sensory_dim=8, embed_dim=32,
                   num_queries=4, num_blocks=1, ff_dim=64, up_dims=(32, 16, 8))


def _random_state(config: CutieConfig) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {k: v.clone() for k, v in Cutie(config).state_dict().items()}


def test_state_dict_matches_the_official_schema_exactly(reference_dir: Path, synth_weights: ModuleType) -> None:
    ours = [(k, tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in Cutie().state_dict().items()]
    assert ours == synth_weights.read_manifest(str(reference_dir / "cutie" / "cutie_base.tsv"))
    assert "pixel_mean" not in Cutie().state_dict()  # non-persistent, as in the official module


def test_loads_the_synthesized_checkpoint_and_a_module_prefixed_copy(
        synth_checkpoint: Callable[[str], Path], tmp_path: Path) -> None:
    path = synth_checkpoint("cutie_base")
    state = torch.load(path, weights_only=True)
    net = Cutie.from_checkpoint(path, map_location="cpu")
    assert net.config == CutieConfig() and not net.training
    assert all(torch.equal(net.state_dict()[k], v) for k, v in state.items())
    # the positional-encoding frequencies are weights too: loaded, not recomputed
    assert torch.equal(net.object_transformer.spatial_pe.inv_freq, state["object_transformer.spatial_pe.inv_freq"])
    prefixed = tmp_path / "cutie-base-mega.pth"
    torch.save({f"module.{k}": v for k, v in state.items()}, prefixed)
    again = Cutie.from_checkpoint(prefixed)
    assert all(torch.equal(again.state_dict()[k], v) for k, v in state.items())


@pytest.mark.parametrize("config", [TINY, CutieConfig(pixel_encoder_depth=18)], ids=["tiny", "small"])
def test_dimensions_are_read_from_the_weights(config: CutieConfig) -> None:
    state = _random_state(config)
    net = Cutie.from_checkpoint(state)
    assert net.config == config
    assert net.pixel_encoder.ms_dims == ((256, 128, 64) if config.pixel_encoder_depth == 18 else (1024, 512, 256))


def test_checkpoint_of_another_model_is_a_one_line_error(synth_checkpoint: Callable[[str], Path]) -> None:
    with pytest.raises(CheckpointError, match=r"not a Cutie checkpoint \(no .*\); select cutie-base-mega.pth"):
        Cutie.from_checkpoint(synth_checkpoint("xmem"))
    state = _random_state(TINY)
    state.pop("object_summarizer.input_proj.bias")
    with pytest.raises(CheckpointError, match=r"missing object_summarizer\.input_proj\.bias") as err:
        Cutie.from_checkpoint(state)
    assert "\n" not in str(err.value)


class RunsCode:
    """Unpickling this creates ``marker``: what a malicious "checkpoint" would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_truncated_or_code_running_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "cutie-base-mega.pth"
    torch.save(_random_state(TINY), path)
    path.write_bytes(path.read_bytes()[:4000])
    with pytest.raises(CheckpointError, match="truncated or not a PyTorch checkpoint"):
        Cutie.from_checkpoint(path)
    marker = tmp_path / "ran"
    torch.save({"w": torch.zeros(1), "payload": RunsCode(marker)}, path)
    with pytest.raises(CheckpointError, match="could run code"):
        Cutie.from_checkpoint(path)
    assert not marker.exists()


def test_stages_give_the_documented_shapes() -> None:
    net = Cutie.from_checkpoint(_random_state(TINY))
    image = torch.rand(1, 3, 64, 96)
    masks = torch.zeros(2, 64, 96)
    masks[0, :32] = 1
    masks[1, 32:, :48] = 1
    with torch.inference_mode():
        (f16, f8, f4), pix = net.encode_image(image)
        assert f16.shape == (1, 256, 4, 6) and f8.shape == (1, 128, 8, 12) and f4.shape == (1, 64, 16, 24)
        key, shrinkage, selection = net.transform_key(f16)
        assert key.shape == (1, 16, 4, 6) and bool((shrinkage >= 1).all())
        assert bool(((selection > 0) & (selection < 1)).all())
        value, sensory, summaries = net.encode_mask(image, pix, torch.zeros(2, 8, 4, 6), masks)
        assert value.shape == (2, 24, 4, 6) and sensory.shape == (2, 8, 4, 6) and summaries.shape == (2, 4, 33)
        # the area channel counts mask pixels (first half of the summaries) and the rest (second half)
        assert bool((summaries[:, :, -1] >= 0).all()) and summaries[:, :, -1].max() <= 4 * 6
        pixel = net.pixel_fusion(pix, value, sensory, masks)
        pixel, aux = net.readout_query(pixel, summaries, need_aux=True)
        assert pixel.shape == (2, 32, 4, 6) and [a.shape for a in aux] == [(2, 4, 6)] * 2
        new_sensory, logits, prob = net.segment((f16, f8, f4), pixel, sensory)
        assert new_sensory is not None and new_sensory.shape == sensory.shape
        assert logits.shape == prob.shape == (3, 64, 96)
        assert torch.allclose(prob.sum(0), torch.ones(64, 96), atol=1e-5)
        assert net.segment((f16, f8, f4), pixel, sensory, update_sensory=False)[0] is None


def test_other_objects_and_channel_attention_kernel() -> None:
    masks = torch.tensor([[[0.7]], [[0.6]], [[0.0]]])
    assert torch.allclose(other_objects(masks)[:, 0, 0], torch.tensor([0.6, 0.7, 1.0]))
    assert torch.equal(other_objects(masks[:1]), torch.zeros(1, 1, 1))
    assert [eca_kernel_size(c) for c in (8, 64, 256, 1024)] == [3, 3, 5, 5]
