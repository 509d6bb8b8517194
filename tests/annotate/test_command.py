"""``xmem-tui annotate`` argument and environment checks that need no window."""

from __future__ import annotations

from pathlib import Path

import pytest

from xmem_tui.annotate.cv_window import is_remote_display
from xmem_tui.cli import main


@pytest.mark.parametrize(("display", "remote"), [(":0", False), (":99.0", False), ("unix:0", False),
                                                 ("localhost:10.0", True), ("192.168.1.5:0", True),
                                                 ("/tmp/launch-x/org.xquartz:0", False), ("", False)])
def test_remote_display_detection(display: str, remote: bool) -> None:
    assert is_remote_display(display) is remote


def test_no_display_is_a_user_error(project: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(project)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XMEM_TUI_CONFIG", raising=False)
    assert main(["annotate", "source/judo"]) == 2
    assert "ssh -X" in capsys.readouterr().err


def test_missing_video_and_bad_frame_are_user_errors(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("DISPLAY", ":12345")
    monkeypatch.delenv("XMEM_TUI_CONFIG", raising=False)
    assert main(["annotate", "nope.mp4"]) == 2
    assert "nope.mp4: video not found" in capsys.readouterr().err  # one lookup (and message) for every command
    assert main(["annotate", "judo", "--frame", "16"]) == 2  # found in source/
    assert "--frame 16 is out of range" in capsys.readouterr().err
