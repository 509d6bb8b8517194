"""The same export of several videos (``xmem-tui export --all``, the dashboard's batch export).

One request describes the batch; each video gets its own copy. ``out`` then names a *folder*: each
video's file goes into it under the name that video's export would get without ``--out``
(:func:`xmem_tui.export.options.output_paths` decides that name, so a batch never invents its own
naming), and without ``out`` every file goes to the exports folder as usual.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from xmem_tui.export.request import ExportRequest


def request_for(request: ExportRequest, settings: Any, video: Path) -> ExportRequest:
    """``request`` for ``video`` within a batch (see module docstring).

    Raises:
        ExportError: the request is invalid (as the export job would say).
    """
    if request.out is None:
        return request
    from xmem_tui.export.options import export_stem, output_paths, resolve

    folder = Path(request.out).expanduser()
    if not folder.is_absolute():
        folder = settings.project_dir / folder
    into = dataclasses.replace(settings, paths=dataclasses.replace(settings.paths, exports_dir=str(folder)))
    options = resolve(dataclasses.replace(request, out=None), into)
    name = output_paths(dataclasses.replace(options, per_object=False), into, export_stem(Path(video)), [])[0]
    return dataclasses.replace(request, out=str(name))
