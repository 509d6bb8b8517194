"""Export kinds by name: what each writes, which codecs it allows, and how it renders a frame.

A *kind* says what the picture is (matte over green, white-on-black matte, RGBA, review overlay, palette
masks, reframed crop); a codec (:mod:`xmem_tui.export.codecs`) says how it is stored. Every kind is one
:class:`ExportKind`; the built-in ones are the modules of :mod:`xmem_tui.export.kinds` (each defines
``SPEC``), others register with :func:`register_kind`. The CLI's ``--kind`` choices, the validation of
``export.kind``, the export dialog's list and the export job all read this registry.

A kind owns its preparation and rendering: :func:`xmem_tui.export.job.export_video` hands its
``prepare`` a :class:`Preparation` (options, masks, objects, geometry, a compositor) once, and gets back
the per-frame render function the pipeline calls on its compositing thread. This module imports neither
numpy, OpenCV nor torch (``xmem-tui --help`` and the dashboard list kinds before anything else); kinds
import them inside their functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from xmem_tui.export.codecs import CODECS, Codec
from xmem_tui.export.errors import ExportError
from xmem_tui.plugins import Registry

if TYPE_CHECKING:
    import numpy as np

    from xmem_tui.export.composite import Compositor
    from xmem_tui.export.mattes import MaskSet, MatteStream
    from xmem_tui.export.options import ExportOptions


class Render(Protocol):
    """A kind's per-frame work, made by its ``prepare``."""

    def __call__(self, pixels: np.ndarray | None, mattes: np.ndarray, index: int) -> list[np.ndarray]:
        """One image per output: ``pixels`` is the source frame (RGB, or None for kinds that do not
        composite it), ``mattes`` the frame's (C, h, w) uint8 mattes at processing size."""


@dataclass(frozen=True)
class Preparation:
    """Everything a kind may use to prepare its renderer, computed once per export.

    Attributes:
        opts: the resolved options.
        masks: the masks read, with the objects' colours.
        objects: the chosen object ids.
        mattes: the matte stream the pipeline feeds (its ``missing`` set collects frames without masks).
        compositor: CPU or GPU compositing.
        upright: (width, height) of the source as displayed.
        rot_k: quarter turns from upright to the output orientation.
        frame_shape: (height, width) of output frames (for kinds that never see source pixels).
    """

    opts: ExportOptions
    masks: MaskSet
    objects: list[int]
    mattes: MatteStream
    compositor: Compositor
    upright: tuple[int, int]
    rot_k: int
    frame_shape: tuple[int, int]

    def shape_of(self, pixels: np.ndarray | None) -> tuple[int, int]:
        """Output (height, width) of a frame: the source pixels' when they are there."""
        return (int(pixels.shape[0]), int(pixels.shape[1])) if pixels is not None else self.frame_shape

    def finish(self, matte: np.ndarray, pixels: np.ndarray | None) -> np.ndarray:
        """One matte at processing size -> finished at output size (upscaled, filtered, feathered)."""
        from xmem_tui.export.finishing import finish

        return finish(matte, self.shape_of(pixels), self.opts.finish, pixels)

    def finish_all(self, mattes: np.ndarray, pixels: np.ndarray | None) -> list[np.ndarray]:
        return [self.finish(m, pixels) for m in mattes]

    def colors(self) -> list[tuple[int, int, int]]:
        """Overlay colour of each chosen object (the workspace's, else the palette's)."""
        from xmem_tui.media.palette import object_color

        return [self.masks.colors.get(o, object_color(o)) for o in self.objects]


@dataclass(frozen=True)
class ExportKind:
    """One export kind.

    Attributes:
        name: ``--kind`` value.
        codecs: allowed codec names, the default first.
        input_format: pixel layout the renderer hands to the encoder (rgb24, rgba, gray, or pal8 for
            palette masks).
        needs_source: the source pixels are composited (else only their timestamps are used).
        prepare: ``prepare(Preparation) -> Render``.
        display: written upright (rotation applied, no display matrix): image sequences and reframes,
            whose consumers ignore rotation tags or whose crop is defined on the upright picture.
        per_object: mattes are kept per chosen object instead of merged into one.
        split_objects: the ``per_object`` option (one output file per object) applies to it.
        uses_mattes: the renderer reads mattes per frame (a reframe reads them once, while preparing).
        palette: its image sequences are palette PNGs.
        output_size: the (width, height) it writes, from the options and the frame size, when that is
            not the frame size (a reframe's crop).
        check: kind-specific checks of the options, raising :class:`ExportError`.
        help: one line for ``--help`` and the docs.
        order: place in listings (lower first).
    """

    name: str
    codecs: tuple[str, ...]
    input_format: str
    needs_source: bool
    prepare: Callable[[Preparation], Render]
    display: bool = False
    per_object: bool = False
    split_objects: bool = False
    uses_mattes: bool = True
    palette: bool = False
    output_size: Callable[[ExportOptions, tuple[int, int]], tuple[int, int]] | None = None
    check: Callable[[ExportOptions], None] | None = None
    help: str = ""
    order: int = 100


KINDS: Registry[ExportKind] = Registry("export kind", "xmem_tui.export.kinds")


def register_kind(spec: ExportKind, *, replace: bool = False) -> ExportKind:
    """Make ``spec`` available to the CLI, the config, the dialog and export jobs."""
    return KINDS.register(spec, replace=replace)


def unregister_kind(name: str) -> None:
    KINDS.unregister(name)


def kind_names() -> tuple[str, ...]:
    return KINDS.names()


def kind(name: str) -> ExportKind:
    """The kind called ``name``; :class:`ExportError` lists the valid ones otherwise."""
    spec = KINDS.get(name)
    if spec is None:
        raise ExportError(f"unknown export kind {name!r}; use one of: {', '.join(kind_names())}.")
    return spec


def codec_for(k: ExportKind, name: str | None) -> Codec:
    """The codec ``name`` (default: the kind's first) after checking the kind allows it."""
    chosen = name or k.codecs[0]
    if chosen not in k.codecs:
        raise ExportError(f"codec {chosen!r} cannot be used for --kind {k.name}; use one of: {', '.join(k.codecs)}.")
    return CODECS[chosen]
