from __future__ import annotations

import json

from xmem_tui.cli import main
from xmem_tui.media.synthetic import SceneSpec, write_clip


def test_info_json_vfr_clip(tmp_path, capsys):
    written = write_clip(tmp_path / "v.mp4", SceneSpec(n_frames=20), vfr=True, audio=True)
    assert main(["info", str(tmp_path / "v.mp4"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frame_count"] == 20 and data["vfr"] is True and data["has_audio"] is True
    assert data["timestamps_s"] == written.timestamps_s
    assert (data["width"], data["height"]) == (160, 96)


def test_info_human_summary(media_dir, capsys):
    assert main(["info", str(media_dir / "bigbuckbunny_720p_25fps_aac.mp4")]) == 0
    out = capsys.readouterr().out
    assert "132 (decoded)" in out and "1280x720" in out and "25.000 fps measured" in out
    assert "constant (CFR)" in out and "aac" in out


def test_info_image_folder_fps(media_dir, capsys):
    assert main(["info", str(media_dir / "judo" / "JPEGImages"), "--json", "--fps", "30"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frame_count"] == 16 and data["kind"] == "images" and abs(data["avg_fps"] - 30) < 1e-9


def test_info_bad_input_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "clip.mp4"
    bad.write_text("hello")
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("xmem-tui: error:") and "clip.mp4" in err and "\n" not in err
