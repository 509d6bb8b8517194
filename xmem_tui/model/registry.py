"""The checkpoint files the application knows: names, official URLs, what each enables, how to verify it.

One registry answers "which file does what" for the ``models`` command and the segmenter builders; an
engine names the files it needs in its spec (:mod:`xmem_tui.inference.registry`). The built-in files are
the modules of :mod:`xmem_tui.model.checkpoints` (each defines ``SPEC``); a new network's weights are one
new module there. Files live in ``settings.models_dir`` under their official names, so a user who
downloads them by hand (or copies them from the official demo) gets the same result as
``xmem-tui models download``.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xmem_tui.errors import CheckpointError
from xmem_tui.plugins import Registry

if TYPE_CHECKING:
    from xmem_tui.config import Settings

#: Where the official XMem v1.0 release publishes XMem.pth, s2m.pth and fbrs.pth (the default ``base``).
RELEASE_BASE = "https://github.com/hkchengrex/XMem/releases/download/v1.0/"


@dataclass(frozen=True)
class CheckpointSpec:
    """One checkpoint file.

    Attributes:
        name: file name in the models folder and in the release.
        model: network it holds, as shown to users.
        role: what it is used for.
        fallback: what the application uses when the file is absent.
        size: exact size in bytes when known (checked before loading); None = check loadability only.
        loader: ``"module:Class"`` whose ``from_checkpoint(path)`` loads the file strictly, or None to only
            check that the file is a weights-only state dict.
        base: the release folder URL it is downloaded from.
        md5: hex MD5 digest of the release's file when the release publishes one: a download must match
            it (a file of the user's own under this name is still loaded, only reported as different).
        order: place in listings (lower first).
    """

    name: str
    model: str
    role: str
    fallback: str
    size: int | None = None
    loader: str | None = None
    base: str = RELEASE_BASE
    md5: str | None = None
    order: int = 100

    def url(self, base: str | None = None) -> str:
        """Download URL of this file under ``base`` (a folder URL; default: its own release)."""
        return (base or self.base).rstrip("/") + "/" + self.name


#: Sizes of the official files are not pinned: they could not be checked here, and a wrong pin would
#: reject a good file. Verification loads each file strictly through its model class instead.
CHECKPOINT_FILES: Registry[CheckpointSpec] = Registry("checkpoint", "xmem_tui.model.checkpoints")


def checkpoints() -> dict[str, CheckpointSpec]:
    """Every known checkpoint file by name, in listing order."""
    return CHECKPOINT_FILES.entries()


def spec_for(name: str) -> CheckpointSpec:
    """The spec of checkpoint ``name`` (case-insensitive, ``.pth`` optional), or of the model it holds
    (``cutie`` for ``cutie-base-mega.pth``).

    Raises:
        CheckpointError: unknown name, listing the known ones.
    """
    wanted = name.lower().removesuffix(".pth")
    known = checkpoints()
    for spec in known.values():
        if wanted in (spec.name.lower().removesuffix(".pth"), spec.model.lower()):
            return spec
    raise CheckpointError(f"unknown checkpoint {name!r}; choose from {', '.join(known)}")


def checkpoint_path(settings: Settings, name: str) -> Path:
    """Where checkpoint ``name`` is expected (``<models_dir>/<name>``)."""
    return settings.models_dir / spec_for(name).name


def available(settings: Settings) -> dict[str, bool]:
    """For each known checkpoint, whether its file exists (not whether it is valid: see ``verify``)."""
    return {name: (settings.models_dir / name).is_file() for name in checkpoints()}


def verify(spec: CheckpointSpec, path: Path) -> None:
    """Check that ``path`` is a safe, complete checkpoint for ``spec``'s model.

    Order: exact size (when known), then ``torch.load(weights_only=True)`` (a pickle that would run code
    is refused, never executed), then a strict key/shape check through the model class.

    Raises:
        CheckpointError: one line naming the file and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} not found; run `xmem-tui models download {spec.name}` (or, with no "
                              f"network, copy {spec.name} into {path.parent}/)")
    actual = path.stat().st_size
    if spec.size is not None and actual != spec.size:
        raise CheckpointError(f"{path} has {actual} bytes, expected {spec.size}; delete it and run "
                              f"`xmem-tui models download {spec.name}`")
    if spec.loader is None:
        from xmem_tui.model.checkpoint import load_state_dict

        load_state_dict(path)
        return
    module_name, _, class_name = spec.loader.partition(":")
    model_class = getattr(importlib.import_module(module_name), class_name)
    model_class.from_checkpoint(path)


def file_md5(path: Path) -> str:
    """Hex MD5 of the file at ``path``, read in chunks (checkpoints are hundreds of megabytes)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def is_release_file(spec: CheckpointSpec, path: Path) -> bool | None:
    """Whether ``path`` is byte for byte the release's file (its MD5); None when no digest is published."""
    return None if spec.md5 is None else file_md5(path) == spec.md5


def check_release_digest(spec: CheckpointSpec, path: Path) -> None:
    """Refuse a downloaded ``path`` whose MD5 is not the release's (damaged in transit, or another file).

    Raises:
        CheckpointError: one line with both digests and the fix.
    """
    if spec.md5 is None:
        return
    actual = file_md5(path)
    if actual != spec.md5:
        raise CheckpointError(f"{path}: MD5 {actual} is not that of the released {spec.name} ({spec.md5}); "
                              f"the download is damaged or not the official file: run `xmem-tui models "
                              f"download {spec.name}` again (check --url-base)")
