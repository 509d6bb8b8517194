"""On-disk state of one video: masks, provenance, objects, runs and locks, in ``workspace/<video name>/``
(``workspace/clip.mp4/``; a folder of frames ``clip/`` gets ``workspace/clip.folder/``: :mod:`.naming`).

Layout (all writes atomic: temp file, fsync, rename)::

    state.json        fingerprint of the source, processing shape, objects, runs, frame records, the
                      video's propagation engine (when one was chosen for it)
    frames.jsonl      journal of frame writes since state.json was last compacted
    probe.json        cached probe of the source (every frame's timestamp)
    masks/00012.png   index mask of frame 12 (DAVIS palette PNG; value = object id), with the frame's
                      provenance in a tEXt chunk so state.json can be rebuilt from the masks alone
    soft/00012.png    soft masks of frame 12: grey PNG of K tiles stacked vertically, tile k-1 = object k
                      probability * 255 (kept so exports get smooth edges)
    history/00012/    undo / redo snapshots of frame 12 (survive window sessions)
    locks/            flock files: ``write`` (held for one write), ``propagate`` / ``annotate`` (held for
                      a whole run or window session)

Clients use :class:`Workspace` (:mod:`.facade`); it composes the mask files (:mod:`.store`, their
metadata in :mod:`.metadata`), the records (:mod:`.records` over :mod:`.journal`), undo/redo
(:mod:`.history`), the locks (:mod:`.locks`) and the source fingerprint (:mod:`.source`).
"""

from xmem_tui.workspace.facade import Workspace
from xmem_tui.workspace.locks import WorkspaceBusy
from xmem_tui.workspace.naming import workspace_name, workspace_root
from xmem_tui.workspace.records import FrameRecord, ObjectInfo, RunInfo
from xmem_tui.workspace.source import SourceChanged
from xmem_tui.workspace.store import hard_soft

__all__ = ["FrameRecord", "ObjectInfo", "RunInfo", "SourceChanged", "Workspace", "WorkspaceBusy", "hard_soft",
           "workspace_name", "workspace_root"]
