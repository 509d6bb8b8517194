"""Every key, on one screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_TEXT = """\
[b]xmem-tui[/b] — keys (the mouse is never needed)

[b]everywhere[/b]
  ?  this help     s  sources     j  jobs     q  quit
  ctrl+p  command palette (every action by name)
  Quitting never stops jobs: they belong to the worker, which keeps
  going without the dashboard or the SSH session. Reopen to watch.

[b]sources[/b]
  ↑/↓  select          Enter  open the video
  a    annotate frame 0 (OpenCV window, needs X forwarding)
  e    export          r      rescan the source folder

[b]video[/b]
  ←/→  previous/next frame     shift+←/→  ±10 frames
  Home/End  first/last frame
  a    annotate this frame (opens the OpenCV window)
  f/b  propagate forward/backward from this frame (a job)
  ./,  propagate one frame forward/backward
  x    cancel this video's propagation
  m    clear memory: the next propagation uses only this frame,
       not the other annotated frames
  e    export (kind, preset, objects, edge finishing, codec)
  n    rename the object selected in the list
  g    propagation engine of this video (XMem, Cutie, weight-free)
  Enter  open the selected keyframe / review entry
  Esc  back to sources

[b]jobs[/b]
  c  cancel    t  retry    l  log    w  start the worker

[b]export dialog[/b]
  Tab  next field    ctrl+s  check and export    Esc  cancel
"""


class HelpScreen(ModalScreen[None]):
    """Modal help; Escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(HELP_TEXT, id="help-text")
