"""Mask images in any common convention, read as object labels (0 = background, k = object k).

Masks reach a workspace from other tools: an image editor that re-saved ``masks/00012.png``, a DAVIS or
XMem folder given to ``xmem-tui import``. Each image is first read as one of three kinds of values
(:func:`read_values`):

* **index** — a palette PNG whose indices are object ids (DAVIS-2017, XMem, Cutie and this app), or a
  1-bit image (1 = object 1). When an editor reordered the palette, the DAVIS colours it shows decide.
* **grey** — an 8-bit greyscale image, an RGB image whose pixels are all grey, a palette of greys, or an
  image whose colour is constant and whose alpha varies (an alpha matte).
* **colour** — any other RGB(A) image (transparent pixels are background).

A :class:`LabelPlan` then turns the values of one file, or of a whole folder (so an object keeps its id in
every frame), into ids, where that is unambiguous: grey 0/255 is object 1 (DAVIS-2016); grey values up to
``max_objects`` are the ids themselves; a few other grey levels become ids in increasing order; colours of
the DAVIS palette (or a workspace object's colour) are that object; other colours, where the caller allows
colour-coded masks, become ids in increasing order of their value. Anything else (an anti-aliased edge, a
photo, an id above ``max_objects``) is refused in one line naming the file, its size and its values.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xmem_tui.errors import MediaError, WorkspaceError

INDEX, GREY, COLOUR = "index", "grey", "colour"
_FIX = "save it as a palette PNG (index = object id) or greyscale with one value per object, without anti-aliasing"


@dataclass(frozen=True, eq=False)
class MaskValues:
    """One mask image read as values of one kind.

    Attributes:
        path: the file.
        kind: ``index``, ``grey`` or ``colour``.
        values: (H, W) values: ids or grey levels (uint8), or packed ``0xRRGGBB`` colours (uint32).
        text: its PNG text chunks (where this app keeps a mask's provenance and checksums).
    """

    path: Path
    kind: str
    values: np.ndarray
    text: dict[str, str] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        h, w = self.values.shape
        return h, w

    def describe(self) -> str:
        """``"masks/frame_0012.png (854x480, greyscale)"`` (its whole path) for messages."""
        names = {INDEX: "palette", GREY: "greyscale", COLOUR: "colour"}
        return f"{self.path} ({self.shape[1]}x{self.shape[0]}, {names[self.kind]})"

    def distinct(self) -> np.ndarray:
        """Its sorted distinct values."""
        return _distinct(self.values)

    def survey(self) -> Survey:
        """What it holds, without its pixels (to decide a folder's :class:`LabelPlan` file by file)."""
        return Survey(self.describe(), self.kind, tuple(int(v) for v in self.distinct()))


@dataclass(frozen=True)
class Survey:
    """The distinct values of one mask image of one kind, and how messages name it."""

    description: str
    kind: str
    values: tuple[int, ...]


def read_values(path: Path) -> MaskValues:
    """Read a mask image as values of one kind (see the module docstring).

    Raises:
        MediaError: the file is missing, not a readable image, or of a kind no mask is (16-bit, float, CMYK).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"mask file {path} does not exist: check the path")
    try:
        with Image.open(path) as image:
            image.load()
            text = {str(k): str(v) for k, v in (getattr(image, "text", None) or {}).items()}
            mode, palette = image.mode, image.getpalette()
            pixels = np.asarray(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"mask file {path} is not a readable image ({exc}): {_FIX}") from exc
    if mode in ("P", "PA"):
        return _from_palette(path, pixels, palette or [], text, mode == "PA")
    if mode == "1":
        return MaskValues(path, INDEX, pixels.astype(np.uint8), text)
    if mode in ("L", "LA"):
        grey = pixels if mode == "L" else _alpha_as_grey(pixels[..., :1], pixels[..., 1])
        return MaskValues(path, GREY, np.ascontiguousarray(grey.reshape(pixels.shape[:2]), np.uint8), text)
    if mode in ("RGB", "RGBA"):
        rgb = pixels[..., :3] if mode == "RGB" else _alpha_applied(pixels[..., :3], pixels[..., 3])
        return _from_rgb(path, rgb, text)
    raise MediaError(f"mask file {path} is a {mode} image{' (16-bit)' if mode.startswith('I;16') else ''}, "
                     f"which is no mask format: {_FIX}")


def _from_palette(path: Path, pixels: np.ndarray, palette: list[int], text: dict[str, str],
                  alpha: bool) -> MaskValues:
    from xmem_tui.media.palette import DAVIS_PALETTE

    index = np.ascontiguousarray(pixels[..., 0] if alpha else pixels, np.uint8)
    colours = np.zeros((256, 3), np.uint8)
    entries = np.asarray(palette[:768], np.uint8).reshape(-1, 3)
    colours[: len(entries)] = entries
    if np.array_equal(colours, DAVIS_PALETTE):
        return MaskValues(path, INDEX, index, text)  # the whole DAVIS palette: this app's masks (no scan needed)
    used = _distinct(index)
    shown = colours[used]
    if np.array_equal(shown, DAVIS_PALETTE[used]):
        return MaskValues(path, INDEX, index, text)  # the usual case: this app's, DAVIS', XMem's, Cutie's masks
    greys = (shown[:, 0] == shown[:, 1]).all() and (shown[:, 1] == shown[:, 2]).all()
    if greys and len(np.unique(shown[:, 0])) == len(used):
        return MaskValues(path, GREY, colours[index, 0], text)  # a palette of greys: what is shown is grey
    packed = _pack(shown)
    if np.isin(packed, list(_palette_ids())).all() and len(np.unique(packed)) == len(used):
        return _from_rgb(path, colours[index], text)  # an editor reordered the DAVIS palette: colours decide
    return MaskValues(path, INDEX, index, text)  # a palette of its own: indices are ids, as in every VOS tool


def _from_rgb(path: Path, rgb: np.ndarray, text: dict[str, str]) -> MaskValues:
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return MaskValues(path, GREY, np.ascontiguousarray(rgb[..., 0]), text)
    return MaskValues(path, COLOUR, _pack(rgb), text)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (a histogram for 8-bit values: much faster than sorting a frame)."""
    if values.dtype == np.uint8:
        return np.flatnonzero(np.bincount(values.ravel(), minlength=256)).astype(np.uint8)
    return np.unique(values)


def _alpha_applied(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Colours with transparent pixels made background; an image of one colour with a varying alpha is
    an alpha matte, whose alpha is the mask (returned as grey)."""
    if alpha.min() == alpha.max() == 255:
        return colour
    if alpha.min() != alpha.max() and (colour == colour.reshape(-1, colour.shape[-1])[0]).all():
        return np.repeat(alpha[..., None], 3, axis=-1)
    return np.where(alpha[..., None] == 0, 0, colour).astype(np.uint8)


def _alpha_as_grey(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return _alpha_applied(np.repeat(grey, 3, axis=-1), alpha)[..., 0]


def _pack(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


@functools.cache
def _palette_ids() -> dict[int, int]:
    """Packed DAVIS colour -> its (lowest) index."""
    from xmem_tui.media.palette import DAVIS_PALETTE

    packed = _pack(DAVIS_PALETTE)
    return {int(c): k for k, c in reversed(list(enumerate(packed)))}


def _hex(colour: int) -> str:
    return f"#{colour:06X}"


def _listing(values: Iterable[int], kind: str, limit: int = 8) -> str:
    items = [(_hex(v) if kind == COLOUR else str(v)) for v in values]
    return ", ".join(items[:limit]) + (f", ... ({len(items)} values)" if len(items) > limit else "")


@dataclass(frozen=True)
class LabelPlan:
    """How the values of each kind become object ids, decided once for a file or a folder.

    Use :meth:`decide`, then :meth:`labels` for each file.
    """

    max_objects: int
    grey: dict[int, int]
    colour: dict[int, int]
    notes: tuple[str, ...] = ()

    @classmethod
    def decide(cls, files: Iterable[Survey], max_objects: int, *, object_colours: Mapping[int, tuple[int, ...]]
               | None = None, colour_coded: bool = True) -> LabelPlan:
        """The mapping for ``files`` (:meth:`MaskValues.survey`) taken together (an object keeps its id
        across them).

        Args:
            object_colours: a workspace's object colours (id -> RGB), recognised after the DAVIS palette.
            colour_coded: map colours outside the palette to ids in order (import); False refuses them.

        Raises:
            WorkspaceError: the values are ambiguous, naming the file, its size and its values.
        """
        greys: dict[int, Survey] = {}
        colours: dict[int, Survey] = {}
        for survey in files:
            if survey.kind == INDEX:
                continue
            seen = greys if survey.kind == GREY else colours
            for value in survey.values:
                if value:
                    seen.setdefault(value, survey)
        notes: list[str] = []
        grey = cls._grey_plan(greys, max_objects, notes)
        colour = cls._colour_plan(colours, max_objects, dict(object_colours or {}), colour_coded, notes)
        return cls(max_objects, grey, colour, tuple(notes))

    @staticmethod
    def _grey_plan(seen: dict[int, Survey], max_objects: int, notes: list[str]) -> dict[int, int]:
        levels = sorted(seen)
        if not levels:
            return {}
        if levels == [255]:
            notes.append("greyscale 0/255 masks (DAVIS-2016): white is object 1")
            return {255: 1}
        if levels[-1] <= max_objects:
            return {v: v for v in levels}
        if len(levels) <= max_objects:
            mapping = {v: k for k, v in enumerate(levels, start=1)}
            notes.append("grey levels " + ", ".join(f"{v} -> object {k}" for v, k in mapping.items()))
            return mapping
        worst = max(set(seen.values()), key=lambda s: len(s.values))
        raise WorkspaceError(f"{worst.description} holds grey values "
                             f"{_listing(worst.values, GREY)}: more levels than objects "
                             f"(processing.max_objects = {max_objects}); {_FIX}.")

    @staticmethod
    def _colour_plan(seen: dict[int, Survey], max_objects: int, objects: dict[int, tuple[int, ...]],
                     colour_coded: bool, notes: list[str]) -> dict[int, int]:
        known = {**{int(_pack(np.asarray(c, np.uint8))): k for k, c in sorted(objects.items(), reverse=True)},
                 **_palette_ids()}
        mapping = {c: known[c] for c in seen if c in known}
        unknown = sorted(c for c in seen if c not in known)
        if not unknown:
            return mapping
        first = seen[unknown[0]]
        if not colour_coded or len(unknown) + len(set(mapping.values())) > max_objects:
            why = ("colours that are neither the DAVIS palette's nor an object's" if not colour_coded
                   else f"more colours than objects (processing.max_objects = {max_objects})")
            raise WorkspaceError(f"{first.description} holds {why}: {_listing(first.values, COLOUR)}; {_FIX}.")
        free = (k for k in range(1, max_objects + 1) if k not in mapping.values())
        extra = {c: next(free) for c in unknown}
        notes.append("colours " + ", ".join(f"{_hex(c)} -> object {k}" for c, k in extra.items()))
        return {**mapping, **extra}

    def labels(self, mask: MaskValues) -> np.ndarray:
        """uint8 (H, W) index mask of ``mask``.

        Raises:
            WorkspaceError: an object id above ``max_objects``, naming the file and the id.
        """
        if mask.kind == INDEX:
            out = np.array(mask.values, np.uint8)
        elif mask.kind == GREY:
            lut = np.zeros(256, np.uint8)
            for level, k in self.grey.items():
                lut[level] = k
            out = lut[mask.values]
        else:
            values, inverse = np.unique(mask.values, return_inverse=True)
            ids = np.array([self.colour.get(int(v), 0) for v in values], np.uint8)
            out = ids[inverse.reshape(mask.values.shape)]
        top = int(out.max()) if out.size else 0
        if top > self.max_objects:
            raise WorkspaceError(f"{mask.describe()} has object id {top}, above "
                                 f"processing.max_objects = {self.max_objects}; renumber its objects from 1 to "
                                 f"{self.max_objects}.")
        return np.ascontiguousarray(out, np.uint8)
