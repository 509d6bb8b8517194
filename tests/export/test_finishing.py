"""Edge finishing: guided upsampling, choke/expand, median, feather, temporal smoothing, option checks."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from xmem_tui.export.errors import ExportError
from xmem_tui.export.finishing import FinishOptions, finish, guided_upsample, smooth_temporal, temporal_weights


def _disc(size: int, radius: float, cx: float, cy: float) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (((xx - cx) ** 2 + (yy - cy) ** 2) <= radius**2).astype(np.uint8) * 255


@pytest.mark.parametrize(("fg", "bg", "gain"), [
    ((220, 200, 190), (30, 60, 40), 0.5),  # the object's edge is visible in luma: much closer to the truth
    ((200, 60, 50), (40, 90, 160), 1.1),  # hardly any luma contrast: no worse than bilinear
])
def test_guided_upsampling_follows_image_edges(fg: tuple, bg: tuple, gain: float) -> None:
    truth = _disc(256, 70.3, 127.6, 121.2)  # full-resolution object with a curved, off-grid edge
    rng = np.random.default_rng(0)
    image = np.where(truth[..., None] > 0, fg, bg).astype(np.float32)
    image = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    small = cv2.resize(truth, (64, 64), interpolation=cv2.INTER_AREA)  # what processing resolution keeps
    bilinear = cv2.resize(small, (256, 256), interpolation=cv2.INTER_LINEAR)
    guided = guided_upsample(small, image)
    err_bilinear = np.abs(bilinear.astype(int) - truth).mean()
    err_guided = np.abs(guided.astype(int) - truth).mean()
    assert guided.shape == truth.shape and guided.dtype == np.uint8
    assert err_guided < gain * err_bilinear


def test_choke_shrinks_and_negative_choke_grows() -> None:
    matte = _disc(64, 20, 32, 32)
    area = (matte > 127).sum()
    choked = finish(matte, (64, 64), FinishOptions(choke=3))
    grown = finish(matte, (64, 64), FinishOptions(choke=-3))
    assert (choked > 127).sum() < area < (grown > 127).sum()
    assert choked[32, 32 - 18] == 0 and grown[32, 32 - 22] == 255  # about 3 px each way


def test_median_removes_speckles_and_feather_softens() -> None:
    matte = np.zeros((40, 40), np.uint8)
    matte[10:30, 10:30] = 255
    matte[3, 3] = 255  # a stray pixel
    cleaned = finish(matte, (40, 40), FinishOptions(median=3))
    assert cleaned[3, 3] == 0 and cleaned[20, 20] == 255
    soft = finish(matte, (40, 40), FinishOptions(feather=2.0))
    assert 0 < soft[20, 10] < 255 and soft[20, 20] == 255


def test_upscale_to_source_resolution() -> None:
    matte = np.zeros((30, 40), np.uint8)
    matte[10:20, 10:30] = 255
    big = finish(matte, (90, 120), FinishOptions())
    assert big.shape == (90, 120) and big[45, 60] == 255 and big[5, 5] == 0


def test_temporal_smoothing_damps_a_one_frame_flicker() -> None:
    on = np.full((4, 4), 255, np.uint8)
    off = np.zeros((4, 4), np.uint8)
    weights = temporal_weights(1)
    assert weights.tolist() == pytest.approx([0.25, 0.5, 0.25])
    assert smooth_temporal([on, off, on], weights)[0, 0] == 128  # the flickered-off frame is pulled halfway back


def test_options_come_from_settings_and_are_checked() -> None:
    defaults = SimpleNamespace(upscale="bilinear", median=0, feather=0.0, choke=0, temporal=0, despill=True)
    opts = FinishOptions.build(defaults, {"upscale": "guided", "choke": 2, "kind": "mask", "feather": None})
    assert (opts.upscale, opts.choke, opts.feather) == ("guided", 2, 0.0)
    for bad in ({"median": 4}, {"upscale": "lanczos"}, {"temporal": 11}, {"choke": 101}):
        with pytest.raises(ExportError):
            FinishOptions.build(defaults, bad)
