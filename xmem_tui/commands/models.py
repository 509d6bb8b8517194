"""``xmem-tui models download|list|verify``: fetch, show and check the checkpoints (XMem, Cutie, S2M, f-BRS).

Every checkpoint is optional: without XMem.pth (or cutie-base-mega.pth) propagation uses the weight-free
optical-flow engine, without s2m.pth / fbrs.pth the annotation window uses GrabCut. ``list`` says which
will be used, so a user knows what quality to expect; ``download`` resumes partial files and only installs
verified ones (loaded strictly, and matching the release's MD5 where it publishes one).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from xmem_tui.config import Settings
from xmem_tui.errors import CheckpointError

if TYPE_CHECKING:
    from xmem_tui.model.registry import CheckpointSpec

NAME = "models"
HELP = "download, list or verify the model checkpoints (XMem.pth, cutie-base-mega.pth, s2m.pth, fbrs.pth)"


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    download = sub.add_parser("download", help="download checkpoints from their official releases (XMem v1.0, "
                                               "Cutie v1.0)")
    download.add_argument("names", nargs="*", help="files to fetch (default: all of them)")
    download.add_argument("--url-base", default=None, help="folder URL to fetch from instead of the release")
    download.add_argument("--force", action="store_true", help="download again even if a valid file is present")
    sub.add_parser("list", help="show which checkpoints are present and which engines will be used")
    verify = sub.add_parser("verify", help="check that present checkpoints load strictly and safely")
    verify.add_argument("names", nargs="*", help="files to check (default: all present)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        return _list(settings)
    if args.action == "verify":
        return _verify(settings, args.names)
    return _download(settings, args.names, args.url_base, args.force)


def _names(names: list[str]) -> list[str]:
    from xmem_tui.model.registry import checkpoints, spec_for

    return [spec_for(n).name for n in names] if names else list(checkpoints())


def _width() -> int:
    from xmem_tui.model.registry import checkpoints

    return max(map(len, checkpoints()))


def _list(settings: Settings) -> int:
    from xmem_tui.model.registry import checkpoints

    print(f"models folder: {settings.models_dir}")
    width = _width()
    for spec in checkpoints().values():
        path = settings.models_dir / spec.name
        if path.is_file():
            state = f"present ({path.stat().st_size / 1e6:.1f} MB)"
            used = spec.model
        else:
            state = "missing"
            used = spec.fallback
        print(f"  {spec.name:<{width}} {state:<22} {spec.role:<12} -> {used}")
    return 0


def _verify(settings: Settings, names: list[str]) -> int:
    from xmem_tui.model.registry import is_release_file, spec_for, verify

    wanted = _names(names)
    width = _width()
    failed = 0
    for name in wanted:
        path = settings.models_dir / name
        if not path.is_file():
            print(f"  {name:<{width}} missing" + (" (requested)" if names else ""))
            failed += bool(names)
            continue
        spec = spec_for(name)
        try:
            verify(spec, path)
        except CheckpointError as exc:
            print(f"  {name:<{width}} BAD: {exc}")
            failed += 1
        else:
            release = is_release_file(spec, path)
            note = {None: "", True: " (the release file: MD5 matches)",
                    False: " (loads strictly, but its MD5 is not the release's: a file of your own)"}[release]
            print(f"  {name:<{width}} ok{note}")
    return 1 if failed else 0


def _download(settings: Settings, names: list[str], url_base: str | None, force: bool) -> int:
    from xmem_tui.model.download import fetch, part_path
    from xmem_tui.model.registry import check_release_digest, is_release_file, spec_for, verify

    def accept(spec: CheckpointSpec, path: Path) -> None:
        check_release_digest(spec, path)  # first: cheaper than loading, and names the real problem
        verify(spec, path)

    for name in _names(names):
        spec = spec_for(name)
        dest = settings.models_dir / spec.name
        if dest.is_file() and not force:
            try:
                verify(spec, dest)
            except CheckpointError as exc:
                print(f"{spec.name}: present but invalid ({exc}); downloading again", file=sys.stderr)
            else:
                mine = " (not the release file: its MD5 differs; --force replaces it)" \
                    if is_release_file(spec, dest) is False else ""
                print(f"{spec.name}: already present and valid{mine}")
                continue
        if force:
            dest.unlink(missing_ok=True)
            part_path(dest).unlink(missing_ok=True)
        url = spec.url(url_base)
        print(f"{spec.name}: downloading {url}", file=sys.stderr)
        fetch(url, dest, progress=_Progress(spec.name), verify=lambda p, s=spec: accept(s, p))
        checked = "MD5 and strict load" if spec.md5 else "strict load"
        print(f"{spec.name}: saved to {dest} (verified: {checked})")
    return 0


class _Progress:
    """Plain-text progress on stderr: a live line on a terminal, a line per 10 % otherwise (logs, CI)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tty = sys.stderr.isatty()
        self.last_time = 0.0
        self.last_decile = -1

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        text = f"{self.name}: {done / 1e6:7.1f} MB"
        if total:
            text += f" / {total / 1e6:.1f} MB ({100 * done / total:5.1f} %)"
        if self.tty:
            if now - self.last_time >= 0.2 or done == total:
                self.last_time = now
                end = "\n" if done == total else ""
                print("\r" + text, end=end, file=sys.stderr, flush=True)
        elif total:
            decile = 10 * done // total
            if decile != self.last_decile:
                self.last_decile = decile
                print(text, file=sys.stderr)
