"""Bad inputs through the real CLI entry point: one line on stderr, exit code 2, nothing saved is lost.

Probe-level cases are in tests/media/test_probe.py and config parsing in tests/test_config.py; these
check what a user sees from ``xmem-tui`` and that the saved annotations survive.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import media_faults
from xmem_tui.cli import main
from xmem_tui.media.masks import write_index_mask
from xmem_tui.media.synthetic import SceneSpec, write_clip

from .procs import N_FRAMES, RelProject, env, file_digests


def one_line_error(capsys: pytest.CaptureFixture[str], code: int, *fragments: str) -> str:
    """Assert a user error: exit 2 and exactly one stderr line ``xmem-tui: error: ...`` holding ``fragments``."""
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("xmem-tui: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


def _saved(project: RelProject) -> dict[str, str]:
    """Digests of everything saved in the clip's workspace: masks, soft masks, state and journal."""
    root = project.root / "workspace" / "clip.mp4"
    return {**{f"masks/{k}": v for k, v in file_digests(root / "masks").items()},
            **{f"soft/{k}": v for k, v in file_digests(root / "soft").items()},
            **file_digests(root, "state.json"), **file_digests(root, "frames.jsonl")}


BAD_VIDEOS = {
    "missing": (lambda p, clip: p / "nope.mp4", "nope.mp4"),
    "not_a_video": (lambda p, clip: (p / "notes.mp4", (p / "notes.mp4").write_text("not a video\n" * 40))[0],
                    "notes.mp4"),
    "audio_only": (lambda p, clip: media_faults.audio_only(p / "sound.m4a"), "no video stream"),
    "truncated": (lambda p, clip: media_faults.truncated(clip, p / "cut.mp4"), "cut.mp4"),
    "zero_frames": (lambda p, clip: media_faults.zero_frames(p / "empty.mp4"), "empty.mp4"),
}


@pytest.mark.parametrize("case", sorted(BAD_VIDEOS))
@pytest.mark.parametrize("command", ["propagate", "import"])
def test_bad_video_is_a_one_line_error_and_loses_nothing(annotated: RelProject, capsys: pytest.CaptureFixture[str],
                                                         case: str, command: str) -> None:
    make, fragment = BAD_VIDEOS[case]
    before = _saved(annotated)
    path = make(annotated.root / "source", annotated.video)
    masks = annotated.root / "incoming"
    write_index_mask(masks / "00000.png", annotated.truth[0])
    args = {"propagate": ["propagate", str(path), "--from", "0"], "import": ["import", str(path), str(masks)]}
    one_line_error(capsys, main(["--config", str(annotated.config), *args[command]]), fragment)
    assert _saved(annotated) == before


def test_real_stderr_of_a_bad_video_ends_in_the_error_without_traceback(annotated: RelProject) -> None:
    """The same through a real process: logging may precede it, but the last line is the error."""
    bad = media_faults.truncated(annotated.video, annotated.root / "source" / "cut.mp4")
    result = annotated.cli("propagate", str(bad), "--from", "0")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and lines[-1].startswith("xmem-tui: error: ") and "cut.mp4" in lines[-1]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("replacement", ["fewer_frames", "same_length_other_content"])
def test_replaced_source_is_refused_and_masks_untouched(annotated: RelProject, capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path, replacement: str) -> None:
    ws = annotated.workspace()
    for i in (10, 20):
        ws.write_frame(i, annotated.truth[i], provenance="user:free")
    before = _saved(annotated)
    other = tmp_path / "other.mp4"
    n = N_FRAMES - 10 if replacement == "fewer_frames" else N_FRAMES
    write_clip(other, SceneSpec(n_frames=n, seed=11))
    shutil.copy(other, annotated.video)
    config = ["--config", str(annotated.config)]
    one_line_error(capsys, main([*config, "propagate", str(annotated.video), "--from", "0"]),
                   "is not the video this workspace", "Restore the original file")
    one_line_error(capsys, main([*config, "export", str(annotated.video), "--kind", "mask"]),
                   "is not the video this workspace")
    assert _saved(annotated) == before
    assert not (annotated.root / "exports").exists() or not any((annotated.root / "exports").iterdir())


@pytest.mark.parametrize(("container", "header_fps", "junk", "warning"), [
    ("mkv", 60, 0, None),  # header: 60 fps; frames: 24 fps
    ("mp4", 24, 10, "the header claims 30 frames but 20 decode"),  # sample table: 30 frames; 20 decode
])
def test_header_lying_about_rate_or_count_is_not_trusted(project: RelProject, capsys: pytest.CaptureFixture[str],
                                                         container: str, header_fps: int, junk: int,
                                                         warning: str | None) -> None:
    import av

    path = project.root / "source" / f"liar.{container}"
    pts = media_faults.lying_header(path, header_fps=header_fps, junk_packets=junk)
    with av.open(str(path)) as probe_me:  # the header really lies
        stream = probe_me.streams.video[0]
        claimed_frames, claimed_fps = stream.frames, float(stream.average_rate or 0)
    assert claimed_frames == len(pts) + junk if junk else round(claimed_fps) == header_fps
    assert main(["--config", str(project.config), "info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frame_count"] == len(pts) and not info["vfr"]
    assert info["timestamps_s"] == pytest.approx(pts, abs=0.001)  # MKV stores milliseconds
    assert info["avg_fps"] == pytest.approx(24, rel=0.03)
    if warning:
        assert any(warning in w for w in info["warnings"]), info["warnings"]
    from xmem_tui.config import load_settings
    from xmem_tui.workspace import Workspace

    ws = Workspace.for_video(load_settings(project.config), path)
    first = np.zeros(ws.shape, np.uint8)
    first[20:60, 30:90] = 1
    ws.write_frame(0, first, provenance="user:free")
    assert main(["--config", str(project.config), "propagate", str(path), "--from", "0"]) == 0
    assert sorted(Workspace.for_video(load_settings(project.config), path).records()) == list(range(len(pts)))


def _bad_mask(path: Path, kind: str, shape: tuple[int, int]) -> None:
    h, w = shape
    if kind == "wrong_size":
        write_index_mask(path, np.ones((h // 2, w // 2), np.uint8))
    elif kind == "rgb_not_labels":  # anti-aliased colours: no object ids can be read from them
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (h, w, 3), np.uint8)).save(path)
    elif kind == "id_above_max_objects":
        write_index_mask(path, np.full((h, w), 12, np.uint8))
    elif kind == "16bit":
        Image.fromarray(np.full((h, w), 300, np.uint16)).save(path)
    else:
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # a PNG signature and nothing else


BAD_MASKS = {"wrong_size": "does not fit", "rgb_not_labels": "(160x96, colour) holds", "16bit": "16-bit",
             "torn_png": "not a readable image",
             "id_above_max_objects": "has object id 12, above processing.max_objects"}


@pytest.mark.parametrize("kind", sorted(BAD_MASKS))
def test_bad_mask_import_is_refused_before_anything_is_written(annotated: RelProject, kind: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    before = _saved(annotated)
    folder = annotated.root / "incoming"
    write_index_mask(folder / "00003.png", annotated.truth[3])  # a good one first: all or nothing
    _bad_mask(folder / "00007.png", kind, annotated.truth[0].shape)
    code = main(["--config", str(annotated.config), "import", str(annotated.video), str(folder)])
    one_line_error(capsys, code, "00007.png", BAD_MASKS[kind])
    assert _saved(annotated) == before and annotated.workspace().user_frames() == [0]


CONFIGS = {
    "unknown_key": ("[processing]\nsise = 96\n", "unknown key processing.sise"),
    "wrong_type": ("[processing]\nsize = \"big\"\n", "processing.size = 'big'"),
    "out_of_range": ("[xmem]\ntop_k = 0\n", "xmem.top_k = 0"),
    "bad_choice": ("[processing]\nengine = \"sam2\"\n", "use one of: auto, xmem, cutie, flow"),
    "not_toml": ("[processing\nsize = 96\n", "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_config_error_is_one_line_naming_file_and_key(annotated: RelProject, capsys: pytest.CaptureFixture[str],
                                                      case: str) -> None:
    text, fragment = CONFIGS[case]
    before = _saved(annotated)
    annotated.config.write_text(text)
    code = main(["--config", str(annotated.config), "propagate", str(annotated.video), "--from", "0"])
    one_line_error(capsys, code, fragment, str(annotated.config.resolve()))
    from .procs import CONFIG

    annotated.config.write_text(CONFIG)
    assert _saved(annotated) == before


def test_missing_config_file_is_one_line(project: RelProject, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    one_line_error(capsys, main(["--config", str(project.root / "nope.toml"), "info", str(project.video)]),
                   "nope.toml")
    monkeypatch.setenv("XMEM_TUI_CONFIG", str(project.root / "gone.toml"))
    one_line_error(capsys, main(["info", str(project.video)]), "gone.toml")


def test_debug_flag_shows_the_traceback_of_a_user_error(project: RelProject) -> None:
    result = subprocess.run([sys.executable, "-m", "xmem_tui", "--debug", "--config", str(project.config), "info",
                             str(project.root / "nope.mp4")], capture_output=True, text=True, env=env(),
                            cwd=project.root, timeout=60, check=False)
    assert result.returncode != 0 and "Traceback" in result.stderr and "MediaError" in result.stderr
