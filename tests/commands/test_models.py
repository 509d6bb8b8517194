"""``xmem-tui models list|verify|download`` through the real CLI entry point."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from xmem_tui.cli import main
from xmem_tui.model import registry


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "config.toml").write_text('[paths]\nmodels_dir = "models"\n')
    monkeypatch.setenv("XMEM_TUI_CONFIG", str(tmp_path / "config.toml"))
    # tiny stand-ins: verification only checks "safe weights-only state dict" for these names
    originals = registry.checkpoints()
    for spec in originals.values():
        registry.CHECKPOINT_FILES.register(dataclasses.replace(spec, loader=None), replace=True)
    try:
        yield tmp_path
    finally:
        for spec in originals.values():
            registry.CHECKPOINT_FILES.register(spec, replace=True)


@pytest.fixture
def release(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "release"
    folder.mkdir()
    for name in registry.checkpoints():
        torch.save({"weight": torch.randn(8, 4)}, folder / name)
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_list_shows_fallbacks_when_nothing_is_present(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "XMem.pth" in out and "missing" in out
    assert "weight-free (optical flow)" in out and "GrabCut (weight-free)" in out


def test_download_then_list_and_verify(project: Path, release: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "download", "--url-base", release]) == 0
    for name in ("XMem.pth", "s2m.pth", "fbrs.pth"):
        assert (project / "models" / name).is_file()
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "missing" not in out and "-> XMem" in out and "-> S2M" in out and "-> f-BRS" in out
    assert main(["models", "verify"]) == 0
    assert main(["models", "download", "s2m", "--url-base", release]) == 0
    assert "already present and valid" in capsys.readouterr().out


def test_verify_flags_a_bad_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "models").mkdir()
    (project / "models" / "s2m.pth").write_bytes(b"garbage")
    assert main(["models", "verify"]) == 1
    assert re.search(r"s2m.pth +BAD", capsys.readouterr().out)


def test_404_is_a_one_line_user_error(project: Path, release: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "download", "XMem.pth", "--url-base", release + "missing/"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "HTTP 404" in err
    assert not (project / "models" / "XMem.pth").exists()


def test_unknown_name_is_a_user_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "download", "sam2.pth"]) == 2
    assert "unknown checkpoint" in capsys.readouterr().err
