"""Job parameters: precedence settings < preset < job, presets' contents, and clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from xmem_tui.config import load_settings
from xmem_tui.export.errors import ExportError
from xmem_tui.export.options import output_paths, resolve
from xmem_tui.export.presets import PRESETS
from xmem_tui.export.registry import kind
from xmem_tui.export.request import ExportRequest


@pytest.fixture
def cfg(tmp_path: Path) -> Any:
    return load_settings(None, {"export.crf": 23, "export.upscale": "guided", "export.kind": "mask"},
                         project_dir=tmp_path)


def test_settings_then_preset_then_params(cfg: Any) -> None:
    plain = resolve(ExportRequest(), cfg)
    assert (plain.kind.name, plain.codec.name, plain.crf, plain.finish.upscale) == ("mask", "ffv1", 23, "guided")
    capcut = resolve(ExportRequest(preset="capcut"), cfg)
    assert (capcut.kind.name, capcut.codec.name, capcut.crf, capcut.finish.feather) == ("greenscreen", "h264", 18, 1.0)
    override = resolve(ExportRequest(preset="capcut", crf=30, feather=0), cfg)
    assert (override.crf, override.finish.feather) == (30, 0.0)
    other_kind = resolve(ExportRequest(preset="premiere", kind="mask"), cfg)  # the preset's ProRes is not for masks
    assert other_kind.codec.name == "ffv1"


def test_every_preset_is_valid(cfg: Any) -> None:
    for name, values in PRESETS.items():
        opts = resolve(ExportRequest(preset=name), cfg)
        assert opts.kind.name == values["kind"] and opts.codec.name in kind(values["kind"]).codecs


@pytest.mark.parametrize("params", [{"kind": "gif"}, {"kind": "mask", "codec": "vp9"}, {"preset": "avid"},
                                    {"objects": "1,x"}, {"audio": "mp3"}, {"kind": "reframe", "aspect": "916"},
                                    {"median": 2}])
def test_bad_parameters_are_user_errors(cfg: Any, params: dict[str, Any]) -> None:
    with pytest.raises(ExportError):
        resolve(ExportRequest(**params), cfg)


def test_output_paths(cfg: Any) -> None:
    opts = resolve(ExportRequest(kind="mask", per_object=True), cfg)
    paths = output_paths(opts, cfg, "clip", [1, 3])
    assert [p.name for p in paths] == ["clip_mask_ffv1_obj1.mkv", "clip_mask_ffv1_obj3.mkv"]
    assert paths[0].parent == cfg.exports_dir
    masks = resolve(ExportRequest(kind="masks", out="x/y"), cfg)
    assert output_paths(masks, cfg, "c", [1]) == [cfg.project_dir / "x/y"]
    with pytest.raises(ExportError, match=r"does not end in \.mov"):
        output_paths(resolve(ExportRequest(kind="alpha", out="/tmp/a.mp4"), cfg), cfg, "c", [1])
