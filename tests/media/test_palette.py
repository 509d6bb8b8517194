from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from xmem_tui.media.palette import DAVIS_PALETTE, object_color


def test_palette_matches_real_davis_annotation(media_dir):
    with Image.open(media_dir / "judo" / "Annotations" / "00000.png") as image:
        assert image.mode == "P"
        theirs = np.array(image.getpalette(), dtype=np.uint8).reshape(-1, 3)
    assert DAVIS_PALETTE.shape == (256, 3) and DAVIS_PALETTE.dtype == np.uint8
    np.testing.assert_array_equal(DAVIS_PALETTE[: len(theirs)], theirs)


@pytest.mark.parametrize(("k", "rgb"), [(0, (0, 0, 0)), (1, (128, 0, 0)), (2, (0, 128, 0)), (3, (128, 128, 0)),
                                        (4, (0, 0, 128)), (8, (64, 0, 0)), (255, (224, 224, 192))])
def test_known_voc_entries(k, rgb):
    assert object_color(k) == rgb
    assert all(type(c) is int for c in object_color(k))


def test_palette_is_read_only_and_bounds_checked():
    with pytest.raises(ValueError):
        DAVIS_PALETTE[1] = 0
    with pytest.raises(ValueError):
        object_color(256)
    with pytest.raises(ValueError):
        object_color(-1)
