"""``xmem-tui models list|verify|download`` through the real CLI entry point."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from xmem_tui.cli import main
from xmem_tui.model import registry

CUTIE = "cutie-base-mega.pth"
OFFICIAL_CUTIE = registry.checkpoints()[CUTIE]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "config.toml").write_text('[paths]\nmodels_dir = "models"\n')
    monkeypatch.setenv("XMEM_TUI_CONFIG", str(tmp_path / "config.toml"))
    # tiny stand-ins: verification only checks "safe weights-only state dict" for these names, not the
    # network or the release's digest (the Cutie tests below restore both)
    originals = registry.checkpoints()
    for spec in originals.values():
        registry.CHECKPOINT_FILES.register(dataclasses.replace(spec, loader=None, md5=None), replace=True)
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
    for name in ("XMem.pth", "cutie-base-mega.pth", "s2m.pth", "fbrs.pth"):
        assert (project / "models" / name).is_file()
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "missing" not in out and "-> XMem" in out and "-> S2M" in out and "-> f-BRS" in out and "-> Cutie" in out
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


@pytest.fixture
def cutie_release(project: Path, release: str, synth_checkpoint: Callable[[str], Path]) -> Iterator[str]:
    """The release folder serving Cutie weights (the reference's synthesized ones, the released schema), with
    the real Cutie spec: strict loading through the network and the official MD5."""
    folder = project / "release"
    shutil.copy(synth_checkpoint("cutie_base"), folder / CUTIE)
    registry.CHECKPOINT_FILES.register(OFFICIAL_CUTIE, replace=True)
    yield release


def test_cutie_download_is_refused_when_its_md5_is_not_the_release(cutie_release: str, project: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The served file loads as Cutie, but it is not the released file: one line, nothing kept."""
    assert OFFICIAL_CUTIE.md5 == "a6071de6136982e396851903ab4c083a"
    assert OFFICIAL_CUTIE.url() == "https://github.com/hkchengrex/Cutie/releases/download/v1.0/cutie-base-mega.pth"
    assert main(["models", "download", "cutie", "--url-base", cutie_release]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("xmem-tui: error: ") and "MD5" in err[-1] and OFFICIAL_CUTIE.md5 in err[-1]
    assert not (project / "models" / CUTIE).exists()
    assert list((project / "models").iterdir()) == []  # not under the final name, no .part either


def test_cutie_download_with_a_matching_md5_installs_and_verifies(cutie_release: str, project: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    served = project / "release" / CUTIE
    digest = hashlib.md5(served.read_bytes()).hexdigest()
    registry.CHECKPOINT_FILES.register(dataclasses.replace(OFFICIAL_CUTIE, md5=digest), replace=True)
    assert main(["models", "download", "cutie-base-mega.pth", "--url-base", cutie_release]) == 0
    assert "(verified: MD5 and strict load)" in capsys.readouterr().out
    assert (project / "models" / CUTIE).read_bytes() == served.read_bytes()
    assert main(["models", "verify", CUTIE]) == 0
    assert "ok (the release file: MD5 matches)" in capsys.readouterr().out
    # the same bytes under the official digest: still a loadable file of the user's, reported as such
    registry.CHECKPOINT_FILES.register(OFFICIAL_CUTIE, replace=True)
    assert main(["models", "verify", CUTIE]) == 0
    assert "its MD5 is not the release's" in capsys.readouterr().out
    assert main(["models", "download", CUTIE, "--url-base", cutie_release]) == 0
    assert "already present and valid (not the release file" in capsys.readouterr().out
