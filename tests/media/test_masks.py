from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from xmem_tui.errors import MediaError
from xmem_tui.media.masks import (
    read_index_mask,
    read_mask_text,
    read_soft_mask,
    write_index_mask,
    write_soft_mask,
)
from xmem_tui.media.palette import DAVIS_PALETTE


def _mask() -> np.ndarray:
    mask = np.zeros((30, 40), np.uint8)
    mask[5:15, 5:20] = 1
    mask[10:25, 15:35] = 2
    mask[0, 0] = 9
    return mask


def test_index_mask_roundtrip_with_text(tmp_path):
    path = tmp_path / "sub" / "00012.png"
    write_index_mask(path, _mask(), text={"xmem-tui": '{"provenance": "user:click"}', "run": "r1"})
    np.testing.assert_array_equal(read_index_mask(path), _mask())
    assert read_mask_text(path) == {"xmem-tui": '{"provenance": "user:click"}', "run": "r1"}
    with Image.open(path) as image:  # a real palette PNG any viewer shows in DAVIS colours
        assert image.mode == "P"
        palette = np.array(image.getpalette(), np.uint8).reshape(-1, 3)
    np.testing.assert_array_equal(palette[:10], DAVIS_PALETTE[:10])
    assert [p.name for p in path.parent.iterdir()] == ["00012.png"]  # no temp file left behind


def test_index_mask_without_text_and_overwrite(tmp_path):
    path = tmp_path / "m.png"
    write_index_mask(path, _mask(), text={"a": "1"})
    write_index_mask(path, np.ones((3, 4), np.uint8))
    assert read_index_mask(path).tolist() == [[1] * 4] * 3
    assert read_mask_text(path) == {}


def test_write_index_mask_rejects_wrong_dtype(tmp_path):
    with pytest.raises(ValueError):
        write_index_mask(tmp_path / "m.png", np.zeros((3, 4), np.int32))
    with pytest.raises(ValueError):
        write_index_mask(tmp_path / "m.png", np.zeros((3, 4, 3), np.uint8))


def test_reads_real_davis_annotation(media_dir):
    mask = read_index_mask(media_dir / "judo" / "Annotations" / "00013.png")
    assert mask.shape == (480, 854) and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 4}  # each file adds one object (README of ../shared/media)
    assert read_index_mask(media_dir / "judo" / "Annotations" / "00005.png").shape == (480, 853)


def test_reads_grey_png(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(_mask()).save(path)
    np.testing.assert_array_equal(read_index_mask(path), _mask())


@pytest.mark.parametrize("kind", ["rgb", "rgba", "16bit"])
def test_rejects_ambiguous_masks(tmp_path, kind):
    path = tmp_path / f"{kind}.png"
    if kind == "16bit":
        Image.fromarray(_mask().astype(np.uint16) * 300).save(path)
    else:
        Image.fromarray(np.zeros((4, 5, 3 if kind == "rgb" else 4), np.uint8)).save(path)
    with pytest.raises(MediaError) as err:
        read_index_mask(path)
    assert path.name in str(err.value) and "palette" in str(err.value)


def test_missing_or_garbage_mask(tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        read_index_mask(tmp_path / "nope.png")
    bad = tmp_path / "bad.png"
    bad.write_text("not a png")
    with pytest.raises(MediaError, match=r"bad\.png"):
        read_index_mask(bad)


def test_soft_mask_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    soft = rng.integers(0, 256, size=(3, 20, 30), dtype=np.uint8)
    path = tmp_path / "soft" / "00001.png"
    write_soft_mask(path, soft)
    np.testing.assert_array_equal(read_soft_mask(path, 3), soft)
    with Image.open(path) as image:  # one grey image, planes stacked vertically
        assert image.mode == "L" and image.size == (30, 60)
    with pytest.raises(MediaError, match="stack of 7"):
        read_soft_mask(path, 7)
    with pytest.raises(MediaError):
        read_soft_mask(tmp_path / "missing.png", 1)
    with pytest.raises(ValueError):
        write_soft_mask(path, np.zeros((0, 2, 2), np.uint8))
