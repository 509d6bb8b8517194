"""Resumable downloads and checkpoint verification against a local HTTP server with Range support."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from xmem_tui.errors import CheckpointError
from xmem_tui.model import registry
from xmem_tui.model.download import fetch, part_path


class Server:
    """Serves ``files`` (name -> bytes); honours ``Range: bytes=N-``; can cut a response short."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut_after: int | None = None  # send only this many body bytes, then drop the connection
        self.requests: list[tuple[str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                rng = self.headers.get("Range")
                outer.requests.append((name, rng))
                data = outer.files.get(name)
                if data is None:
                    self.send_error(404, "Not Found")
                    return
                start = 0
                if rng:
                    start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if outer.cut_after is not None:
                    self.wfile.write(body[:outer.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1.0/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return self.base + name


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def _checkpoint(tmp_path: Path, size: int = 5000) -> bytes:
    path = tmp_path / "src.pth"
    torch.save({"w": torch.arange(size, dtype=torch.float32), "b": torch.ones(3)}, path)
    return path.read_bytes()


def _verify(path: Path) -> None:
    registry.verify(registry.CheckpointSpec("x.pth", "X", "test", "none"), path)


def test_download_verifies_and_renames(server: Server, tmp_path: Path) -> None:
    data = _checkpoint(tmp_path)
    server.files["s2m.pth"] = data
    seen: list[tuple[int, int | None]] = []
    dest = tmp_path / "models" / "s2m.pth"
    fetch(server.url("s2m.pth"), dest, progress=lambda d, t: seen.append((d, t)), verify=_verify)
    assert dest.read_bytes() == data
    assert not part_path(dest).exists()
    assert seen[-1] == (len(data), len(data))


def test_interrupted_download_resumes_with_range(server: Server, tmp_path: Path) -> None:
    data = _checkpoint(tmp_path, size=200_000)
    server.files["XMem.pth"] = data
    dest = tmp_path / "XMem.pth"
    server.cut_after = 300_000
    with pytest.raises(CheckpointError, match="rerun to resume"):
        fetch(server.url("XMem.pth"), dest, verify=_verify)
    assert not dest.exists()
    assert part_path(dest).stat().st_size == 300_000
    server.cut_after = None
    fetch(server.url("XMem.pth"), dest, verify=_verify)
    assert dest.read_bytes() == data
    assert server.requests[-1] == ("XMem.pth", "bytes=300000-")


def test_complete_part_file_is_finished_without_refetching(server: Server, tmp_path: Path) -> None:
    data = _checkpoint(tmp_path)
    server.files["fbrs.pth"] = data
    dest = tmp_path / "fbrs.pth"
    part_path(dest).write_bytes(data)
    fetch(server.url("fbrs.pth"), dest, verify=_verify)
    assert dest.read_bytes() == data and server.requests[-1][1] == f"bytes={len(data)}-"


def test_404_is_a_clear_error(server: Server, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="HTTP 404"):
        fetch(server.url("nope.pth"), tmp_path / "nope.pth")


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = srv.server_address[1]
    srv.server_close()  # nothing listens there any more
    with pytest.raises(CheckpointError, match="cannot download"):
        fetch(f"http://127.0.0.1:{port}/XMem.pth", tmp_path / "XMem.pth", timeout=5)


class _Evil:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_malicious_pickle_is_refused_and_never_run(server: Server, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"w": torch.ones(2), "payload": _Evil(marker)}, evil)
    assert not marker.exists()
    server.files["s2m.pth"] = evil.read_bytes()
    dest = tmp_path / "models" / "s2m.pth"
    with pytest.raises(CheckpointError, match="refused"):
        fetch(server.url("s2m.pth"), dest, verify=_verify)
    assert not marker.exists()
    assert not dest.exists() and not part_path(dest).exists()


def test_truncated_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "t.pth"
    path.write_bytes(_checkpoint(tmp_path)[:1000])
    with pytest.raises(CheckpointError, match="truncated"):
        _verify(path)


def test_size_and_strict_model_checks(tmp_path: Path) -> None:
    path = tmp_path / "XMem.pth"
    path.write_bytes(_checkpoint(tmp_path))
    with pytest.raises(CheckpointError, match="expected 12;"):
        registry.verify(registry.CheckpointSpec("XMem.pth", "XMem", "p", "f", size=12), path)
    # a valid weights-only file that is not XMem is refused by the strict model check
    with pytest.raises(CheckpointError, match="XMem"):
        registry.verify(registry.checkpoints()["XMem.pth"], path)


def test_registry_paths_and_availability(tmp_path: Path) -> None:
    from xmem_tui.config import load_settings

    settings = load_settings(None, {"paths.models_dir": str(tmp_path / "m")}, project_dir=tmp_path)
    assert registry.checkpoint_path(settings, "xmem") == tmp_path / "m" / "XMem.pth"
    assert registry.available(settings) == {"XMem.pth": False, "cutie-base-mega.pth": False, "s2m.pth": False,
                                            "fbrs.pth": False}
    assert registry.checkpoint_path(settings, "cutie") == tmp_path / "m" / "cutie-base-mega.pth"
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "fbrs.pth").write_bytes(b"")
    assert registry.available(settings)["fbrs.pth"]
    assert registry.checkpoints()["XMem.pth"].url() == \
        "https://github.com/hkchengrex/XMem/releases/download/v1.0/XMem.pth"
    with pytest.raises(CheckpointError, match="unknown checkpoint"):
        registry.spec_for("sam.pth")


def test_release_digest_is_checked_before_the_rename(server: Server, tmp_path: Path) -> None:
    data = _checkpoint(tmp_path)
    server.files["c.pth"] = data
    spec = registry.CheckpointSpec("c.pth", "C", "test", "none", md5=hashlib.md5(data).hexdigest())
    dest = tmp_path / "models" / "c.pth"
    fetch(server.url("c.pth"), dest, verify=lambda p: registry.check_release_digest(spec, p))
    assert registry.is_release_file(spec, dest) and registry.file_md5(dest) == spec.md5
    dest.unlink()
    wrong = dataclasses.replace(spec, md5="0" * 32)
    with pytest.raises(CheckpointError, match=f"MD5 {spec.md5} is not that of the released c.pth") as info:
        fetch(server.url("c.pth"), dest, verify=lambda p: registry.check_release_digest(wrong, p))
    assert "\n" not in str(info.value)
    assert not dest.exists() and not part_path(dest).exists()
    assert registry.is_release_file(dataclasses.replace(spec, md5=None), tmp_path / "src.pth") is None
