"""Reframe: a crop window of another aspect (9:16 by default) that follows the objects, scaled to a size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xmem_tui.export.registry import ExportKind, Preparation

if TYPE_CHECKING:
    import numpy as np

    from xmem_tui.export.options import ExportOptions
    from xmem_tui.export.registry import Render


def crop_plan(prep: Preparation) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """Crop window corner per frame (upright frame pixels) from the objects' smoothed bounding boxes."""
    from xmem_tui.export.mattes import MatteStream
    from xmem_tui.export.reframe import crop_size, object_center, parse_aspect, plan_crops

    masks = prep.masks
    stream = MatteStream(masks.source, prep.objects, masks.shape, merge=True, temporal=0, rot_k=0,
                         count=masks.count)
    scale_x, scale_y = prep.upright[0] / masks.shape[1], prep.upright[1] / masks.shape[0]
    centers = []
    for i in range(masks.count):
        c = object_center(stream.get(i)[0])
        centers.append(None if c is None else (c[0] * scale_x, c[1] * scale_y))
    window = crop_size(prep.upright[0], prep.upright[1], parse_aspect(prep.opts.aspect))
    prep.mattes.missing.update(stream.missing)
    return plan_crops(centers, prep.upright, window, prep.opts.smooth), window


def prepare(prep: Preparation) -> Render:
    import cv2

    from xmem_tui.export.reframe import parse_size

    crops, (ww, wh) = crop_plan(prep)
    out_size = parse_size(prep.opts.size)
    interpolation = cv2.INTER_AREA if ww > out_size[0] else cv2.INTER_CUBIC

    def render(pixels: np.ndarray | None, mattes: np.ndarray, index: int) -> list[np.ndarray]:
        assert pixels is not None  # needs_source
        x, y = crops[min(index, len(crops) - 1)]
        return [cv2.resize(pixels[y:y + wh, x:x + ww], out_size, interpolation=interpolation)]

    return render


def check(opts: ExportOptions) -> None:
    """The aspect and output size parse (both even, as 4:2:0 needs)."""
    from xmem_tui.export.reframe import parse_aspect, parse_size

    parse_aspect(opts.aspect)
    parse_size(opts.size)


def output_size(opts: ExportOptions, frame_size: tuple[int, int]) -> tuple[int, int]:
    from xmem_tui.export.reframe import parse_size

    return parse_size(opts.size)


SPEC = ExportKind(name="reframe", codecs=("h264", "h265"), input_format="rgb24", needs_source=True, prepare=prepare,
                  display=True, uses_mattes=False, output_size=output_size, check=check, order=60,
                  help="crop window of a chosen aspect following the objects (e.g. 9:16 at 1080x1920)")
