from __future__ import annotations

import numpy as np
import pytest

from xmem_tui.media.synthetic import SceneSpec, render_scene, vfr_pts, write_image_folder


def test_render_shapes_and_labels():
    spec = SceneSpec(height=64, width=96, n_frames=12, n_objects=3, seed=1)
    frames, masks = render_scene(spec)
    assert len(frames) == len(masks) == 12
    assert frames[0].shape == (64, 96, 3) and frames[0].dtype == np.uint8
    assert masks[0].shape == (64, 96) and masks[0].dtype == np.uint8
    assert set(np.unique(masks[0])) == {0, 1, 2, 3}  # every object visible at frame 0
    assert max(int(m.max()) for m in masks) == 3


def test_deterministic_per_seed():
    a = render_scene(SceneSpec(n_frames=5, seed=4))
    b = render_scene(SceneSpec(n_frames=5, seed=4))
    c = render_scene(SceneSpec(n_frames=5, seed=5))
    for x, y in zip(a[0] + a[1], b[0] + b[1], strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0][0], c[0][0])


def _centroid(mask: np.ndarray, k: int) -> np.ndarray:
    ys, xs = np.nonzero(mask == k)
    return np.array([xs.mean(), ys.mean()])


def test_objects_move_occlude_and_background_pans():
    spec = SceneSpec(n_frames=30, n_objects=3, seed=3)
    frames, masks = render_scene(spec)
    for k in (1, 2, 3):
        assert np.linalg.norm(_centroid(masks[10], k) - _centroid(masks[0], k)) > 5
    areas = np.array([[(m == k).sum() for k in (1, 2, 3)] for m in masks], dtype=float)
    assert (areas.min(axis=0) < 0.7 * np.median(areas, axis=0)).any(), "no object is ever occluded"
    # background pixels shift by the pan: frame t at x matches frame 0 at x + pan*t (up to noise/flicker)
    bg = (masks[0] == 0) & (masks[4] == 0)
    shifted = np.roll(frames[0].astype(float), -4, axis=1)  # pan 1 px/frame in x, 0.3 in y (rounded: 1)
    err_pan = np.abs(frames[4].astype(float) - np.roll(shifted, -1, axis=0))[bg].mean()
    err_static = np.abs(frames[4].astype(float) - frames[0])[bg].mean()
    assert err_pan < err_static


def test_spec_validation():
    with pytest.raises(ValueError):
        SceneSpec(n_objects=4)
    with pytest.raises(ValueError):
        SceneSpec(width=95)


def test_vfr_pts_mix_24_and_60_with_gaps():
    pts = vfr_pts(60, seed=0)
    deltas = set(np.diff(pts).tolist())
    assert {50, 20} <= deltas  # 1/24 s and 1/60 s in 1/1200 s ticks
    assert max(deltas) > 50  # dropped frames
    assert all(d > 0 for d in deltas)
    assert vfr_pts(60, seed=0) == pts


def test_write_image_folder(tmp_path):
    masks = write_image_folder(tmp_path / "f", SceneSpec(n_frames=3))
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["00000.png", "00001.png", "00002.png"]
    assert len(masks) == 3
