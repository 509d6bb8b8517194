"""A batch export: each video's file goes into the folder ``out`` names, under the name it would get anyway."""

from __future__ import annotations

from pathlib import Path

import pytest

from xmem_tui.config import load_settings
from xmem_tui.errors import UserError
from xmem_tui.export.batch import request_for
from xmem_tui.export.request import ExportRequest


def test_out_names_a_folder_and_each_video_keeps_its_own_name(tmp_path: Path) -> None:
    settings = load_settings(None, project_dir=tmp_path)
    request = ExportRequest(kind="alpha", out="deliver", objects="1")
    assert request_for(request, settings, tmp_path / "source" / "dance.mp4") == ExportRequest(
        kind="alpha", out=str(tmp_path / "deliver" / "dance_alpha_prores.mov"), objects="1")
    assert request_for(ExportRequest(kind="mask", per_object=True, out=str(tmp_path / "x")), settings,
                       Path("phone.mp4")).out == str(tmp_path / "x" / "phone_mask_ffv1.mkv")  # split later, per object


def test_without_out_the_request_is_unchanged_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    settings = load_settings(None, project_dir=tmp_path)
    request = ExportRequest(kind="greenscreen")
    assert request_for(request, settings, Path("a.mp4")) is request
    with pytest.raises(UserError, match="codec"):
        request_for(ExportRequest(kind="alpha", codec="h264", out="d"), settings, Path("a.mp4"))
