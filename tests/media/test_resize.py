from __future__ import annotations

import numpy as np
import pytest

from xmem_tui.media.resize import mask_to_shape, processing_shape, soft_to_shape, to_processing


@pytest.mark.parametrize(("h", "w", "size", "expected"), [
    (1080, 1920, 480, (480, 853)),   # 1920*480//1080 = 853
    (1920, 1080, 480, (853, 480)),   # portrait
    (720, 1280, 480, (480, 853)),
    (481, 854, 480, (480, 852)),     # 854*480//481 = 852
    (480, 854, 480, (480, 854)),     # already at size
    (240, 320, 480, (240, 320)),     # never upscale
    (1080, 1920, -1, (1080, 1920)),  # -1 keeps the original
    (600, 600, 480, (480, 480)),
])
def test_processing_shape_official_rule(h, w, size, expected):
    assert processing_shape(h, w, size) == expected


def test_processing_shape_rejects_nonsense():
    with pytest.raises(ValueError):
        processing_shape(0, 10, 480)
    with pytest.raises(ValueError):
        processing_shape(1000, 1000, 0)


def test_to_processing_area_downscale():
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[:, 150:] = 200
    out = to_processing(frame, 100)
    assert out.shape == (100, 150, 3) and out.dtype == np.uint8
    assert out[:, :74].max() == 0 and out[:, 76:].min() == 200
    small = np.zeros((50, 60, 3), np.uint8)
    assert to_processing(small, 100) is small


def test_mask_to_shape_keeps_labels():
    mask = np.zeros((10, 10), np.uint8)
    mask[:5, :5] = 1
    mask[5:, 5:] = 7
    up = mask_to_shape(mask, (40, 30))
    assert up.shape == (40, 30)
    assert set(np.unique(up)) == {0, 1, 7}
    assert up[0, 0] == 1 and up[-1, -1] == 7 and up[0, -1] == 0
    down = mask_to_shape(up, (10, 10))
    assert set(np.unique(down)) <= {0, 1, 7}


def test_soft_to_shape_bilinear():
    soft = np.zeros((2, 4, 4), np.uint8)
    soft[0] = 100
    soft[1, :, 2:] = 255
    out = soft_to_shape(soft, (8, 16))
    assert out.shape == (2, 8, 16) and out.dtype == np.uint8
    assert (out[0] == 100).all()
    assert out[1, 0, 0] == 0 and out[1, 0, -1] == 255
    assert 0 < out[1, 0, 7] < 255 or 0 < out[1, 0, 8] < 255  # interpolated edge
    assert soft_to_shape(soft, (4, 4)) is soft
    assert soft_to_shape(np.zeros((0, 4, 4), np.uint8), (2, 2)).shape == (0, 2, 2)
