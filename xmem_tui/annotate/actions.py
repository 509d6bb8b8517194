"""What each keyboard action does to a :class:`~xmem_tui.annotate.controller.Controller`.

Kept apart from the controller so the mapping "action name -> behaviour" reads as one table; the key that
triggers each action lives in :mod:`xmem_tui.annotate.keymap`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from xmem_tui.errors import UserError

if TYPE_CHECKING:
    from xmem_tui.annotate.controller import Controller
    from xmem_tui.workspace import Workspace

#: Editing tools the window switches between.
MODES = ("click", "scribble", "free", "lasso")
#: How the canvas shows the masks (``o`` cycles through them, the first is the default).
VIEWS = ("overlay", "mask", "cutout", "contour", "source")


def perform(ctl: Controller, action: str) -> None:
    """Run ``action`` (e.g. "object:3", "mode:lasso", "undo") on ``ctl``.

    Raises:
        UserError: the action cannot be done now (the controller shows the message).
    """
    name, _, arg = action.partition(":")
    if name == "object":
        _select_object(ctl, int(arg))
    elif name == "mode" and arg in MODES:
        ctl.flush()
        ctl.mode = arg
        ctl.edit.end_sessions()
    elif name == "brush":
        ctl.step_radius(1 if arg == "+" else -1)
    elif name == "view":
        ctl.view = VIEWS[(VIEWS.index(ctl.view) + 1) % len(VIEWS)]
    elif name == "zoom":
        x, y = ctl.cursor if ctl.cursor is not None else (ctl.viewport.width // 2, ctl.viewport.height // 2)
        ctl.viewport.zoom(1 if arg == "in" else -1, x, y)
    elif name in _NAVIGATION:
        ctl.playing = False
        ctl.goto(_NAVIGATION[name](ctl))
    elif name in _SIMPLE:
        _SIMPLE[name](ctl)
    elif name in ("propagate", "step"):
        _propagate(ctl, backward=arg == "backward", single=name == "step")
    else:
        raise UserError(f"unknown action {action!r}")


def _select_object(ctl: Controller, k: int) -> None:
    limit = ctl.settings.processing.max_objects
    if k > limit:
        raise UserError(f"object {k} is above processing.max_objects = {limit}; raise it in config.toml")
    ctl.flush()
    ctl.object = k


_NAVIGATION = {
    "prev": lambda c: c.frame - 1,
    "next": lambda c: c.frame + 1,
    "prev10": lambda c: c.frame - 10,
    "next10": lambda c: c.frame + 10,
    "first": lambda c: 0,
    "last": lambda c: c.count - 1,
}


def _undo(ctl: Controller, redo: bool = False) -> None:
    ctl.flush()
    done = ctl.ws.redo(ctl.frame) if redo else ctl.ws.undo(ctl.frame)
    if not done:
        raise UserError(f"nothing to {'redo' if redo else 'undo'} on frame {ctl.frame}")
    ctl.reload()
    ctl.say(f"{'redone' if redo else 'undone'} on frame {ctl.frame}")


def _reset(ctl: Controller) -> None:
    ctl.flush()
    if ctl.ws.read_mask(ctl.frame) is None:
        raise UserError(f"frame {ctl.frame} has no mask to reset")
    ctl.ws.history_push(ctl.frame)
    ctl.ws.clear_frame(ctl.frame)
    ctl.reload()
    ctl.say(f"frame {ctl.frame} cleared (z undoes)")


def _play(ctl: Controller) -> None:
    ctl.flush()
    ctl.playing = not ctl.playing


def _import(ctl: Controller) -> None:
    from xmem_tui.mask_import import read_mask_file
    from xmem_tui.workspace import hard_soft

    ctl.flush()
    candidates = import_candidates(ctl.ws, ctl.frame)
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise UserError(f"no mask to import for frame {ctl.frame}: put it at {candidates[0]} or {candidates[1]}")
    mask, notes = read_mask_file(ctl.ws, path)
    ctl.edit.end_sessions()
    ctl.commit((mask, hard_soft(mask)), "import")
    ctl.say(f"imported {path.name} into frame {ctl.frame}" + (f" ({'; '.join(notes)})" if notes else ""))


def import_candidates(ws: Workspace, index: int) -> list[Path]:
    """Where ``i`` looks for a mask of frame ``index`` (first existing file wins), documented in the help.

    1. ``<workspace>/import/00012.png`` (drop files into the video's workspace folder);
    2. ``<folder of the video>/<video stem>_masks/00012.png`` (next to the video: clip.mp4 -> clip_masks/).
    """
    name = f"{index:05d}.png"
    video = ws.video_path
    return [ws.root / "import" / name, video.parent / f"{video.stem}_masks" / name]


def _propagate(ctl: Controller, backward: bool, single: bool) -> None:
    ctl.flush()
    if ctl.jobs is None:
        raise UserError("propagation is not available in this window")
    if ctl.ws.read_mask(ctl.frame) is None:
        raise UserError(f"frame {ctl.frame} has no mask: annotate it before propagating from it")
    step = -1 if backward else 1
    last = 0 if backward else ctl.count - 1
    if ctl.frame == last:
        raise UserError(f"frame {ctl.frame} is the {'first' if backward else 'last'} frame: nothing to propagate")
    start, end, jobs = ctl.frame, ctl.frame + step if single else last, ctl.jobs
    clear, ctl.clear_memory = ctl.clear_memory, False
    # Submitting may start the worker (a second or so): queue it so the HUD says so first.
    ctl.pending = ("queueing propagation", lambda: ctl.say(jobs.submit(start, end, backward, clear_memory=clear)))


def _clear_memory(ctl: Controller) -> None:
    ctl.clear_memory = not ctl.clear_memory
    ctl.say("next propagation: only this frame in memory (m again to undo)" if ctl.clear_memory
            else "next propagation: every annotated frame in memory")


def _cancel(ctl: Controller) -> None:
    if ctl.jobs is None:
        raise UserError("propagation is not available in this window")
    ctl.say(ctl.jobs.cancel())


def _review(ctl: Controller) -> None:
    from xmem_tui.annotate.jobs_client import review_list

    items = review_list(ctl.ws)
    if not items:
        raise UserError("review list is empty: nothing looks wrong (or nothing was propagated yet)")
    frames = [f for f, _ in items]
    pos = (frames.index(ctl.frame) + 1) % len(items) if ctl.frame in frames else 0
    frame, reason = items[pos]
    ctl.playing = False
    ctl.goto(frame)
    ctl.say(f"review {pos + 1}/{len(items)}: {reason}")


def _help(ctl: Controller) -> None:
    ctl.show_help = not ctl.show_help


def _quit(ctl: Controller) -> None:
    ctl.close()


_SIMPLE = {
    "undo": _undo,
    "redo": lambda c: _undo(c, redo=True),
    "reset": _reset,
    "play": _play,
    "import": _import,
    "cancel": _cancel,
    "clear_memory": _clear_memory,
    "review": _review,
    "help": _help,
    "quit": _quit,
    "back": _quit,
}
