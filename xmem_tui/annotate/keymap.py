"""Keys of the annotation window: raw ``cv2.waitKeyEx`` codes -> key names -> actions, and the help text.

``waitKeyEx`` codes depend on the highgui backend. Qt (opencv-python 5 on Linux) turns printable keys into
*lower-case* ASCII whatever the Shift state, drops Ctrl-modified keys, and reports other keys by their
X keysym (Left = 0xff51, Home = 0xff50), Shift itself included (0xffe1/0xffe2). GTK reports the same keysyms
but keeps upper-case letters; Qt builds without native key codes give ``Qt::Key`` values (0x01000012 ...);
Windows and macOS have their own codes. All of them are mapped here, so the controller only sees names.

Because Qt hides the Shift state of letters, a Shift press *latches*: the next letter counts as shifted
(``Shift`` then ``p`` -> ``P``) and the next arrow becomes ``shift+left``/``shift+right``, which is what a
user does when typing Shift+P or Shift+Right. PageUp/PageDown do the same jumps without Shift.

One table (:data:`KEYS`) lists every binding with its help text, so the help overlay cannot drift from
the behaviour. A key means the same here as in the dashboard (``p`` propagates forward in both, ``n`` goes
to the next review frame, ``x`` cancels, ``?`` is help): where both bind a key, the dashboard's binding
carries this table's action name as its ``id``, and a test checks that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Special keys by name -> every code a backend may report for them.
_SPECIAL: dict[str, tuple[int, ...]] = {
    "left": (0xFF51, 0x01000012, 2424832, 63234, 0xFF96),
    "up": (0xFF52, 0x01000013, 2490368, 63232, 0xFF97),
    "right": (0xFF53, 0x01000014, 2555904, 63235, 0xFF98),
    "down": (0xFF54, 0x01000015, 2621440, 63233, 0xFF99),
    "home": (0xFF50, 0x01000010, 2359296, 63273, 0xFF95),
    "end": (0xFF57, 0x01000011, 2293760, 63275, 0xFF9C),
    "pgup": (0xFF55, 0x01000016, 2162688, 63276, 0xFF9A),
    "pgdn": (0xFF56, 0x01000017, 2228224, 63277, 0xFF9B),
    "esc": (27, 0xFF1B, 0x01000000),
    "space": (32,),
    "enter": (13, 10, 0xFF0D, 0x01000004, 0x01000005),
    "shift": (0xFFE1, 0xFFE2, 0x01000020),
}
_CODE_TO_NAME: dict[int, str] = {code: name for name, codes in _SPECIAL.items() for code in codes}


def key_name(code: int) -> str | None:
    """The name of a raw ``waitKeyEx`` code: a printable character ("a", "A", "[") or a special name."""
    if code < 0:
        return None
    if code in _CODE_TO_NAME:
        return _CODE_TO_NAME[code]
    low = code & 0xFF if code > 0xFFFF else code  # old GTK builds add modifier bits above the byte
    if 33 <= low <= 126:
        return chr(low)
    return None


@dataclass(frozen=True)
class Binding:
    """One action, the key names that trigger it and a help line."""

    action: str
    keys: tuple[str, ...]
    help: str


KEYS: tuple[Binding, ...] = (
    *(Binding(f"object:{k}", (str(k),), "select object 1-9" if k == 1 else "") for k in range(1, 10)),
    Binding("object:0", ("0",), "background / eraser"),
    Binding("mode:click", ("c",), "mode: click (f-BRS, or GrabCut without weights)"),
    Binding("mode:scribble", ("w",), "mode: scribble (S2M, or GrabCut without weights)"),
    Binding("mode:free", ("f",), "mode: free brush"),
    Binding("mode:lasso", ("l",), "mode: lasso fill"),
    Binding("brush:-", ("[",), "smaller brush (or mouse wheel)"),
    Binding("brush:+", ("]",), "bigger brush (or mouse wheel)"),
    Binding("undo", ("z",), "undo on this frame (kept across sessions)"),
    Binding("redo", ("y",), "redo on this frame"),
    Binding("reset", ("r",), "reset (clear) this frame"),
    Binding("prev", ("left",), "previous frame"),
    Binding("next", ("right",), "next frame"),
    Binding("prev10", ("shift+left", "pgup"), "back 10 frames"),
    Binding("next10", ("shift+right", "pgdn"), "forward 10 frames"),
    Binding("first", ("home",), "first frame"),
    Binding("last", ("end",), "last frame"),
    Binding("play", ("space",), "play / pause"),
    Binding("view", ("o",), "view: overlay, mask, cut-out, contour, source"),
    Binding("zoom:in", ("+", "="), "zoom in at the cursor (1:1 detail)"),
    Binding("zoom:out", ("-",), "zoom out"),
    Binding("import", ("i",), "import a mask PNG for this frame"),
    Binding("propagate:forward", ("p",), "propagate forward from here (a job)"),
    Binding("propagate:backward", ("P",), "propagate backward from here (Shift+p)"),
    Binding("step:forward", (".",), "propagate one frame forward"),
    Binding("step:backward", (",",), "propagate one frame backward"),
    Binding("cancel", ("x",), "cancel the running propagation"),
    Binding("clear_memory", ("m",), "clear memory: next propagation uses only this frame"),
    Binding("review", ("n",), "next frame in the review list"),
    Binding("help", ("?", "h"), "show / hide this help"),
    Binding("quit", ("q",), "save and close"),
    Binding("back", ("esc",), "save and close (back to the terminal)"),
)
_NAME_TO_ACTION: dict[str, str] = {key: b.action for b in KEYS for key in b.keys}


#: Short names for the help overlay's narrow key column (its font has no arrows).
_SHORT = {"shift+left": "S+left", "shift+right": "S+right"}


def help_lines() -> list[tuple[str, str]]:
    """``(keys, what they do)`` for every binding with help text, for the help overlay."""
    lines = []
    for binding in KEYS:
        if binding.help:
            keys = "1-9" if binding.action == "object:1" else " ".join(_SHORT.get(k, k) for k in binding.keys)
            lines.append((keys, binding.help))
    lines.append(("mouse", "left = positive / paint, right = negative / erase"))
    lines.append(("", "middle drag = pan when zoomed, wheel = brush size"))
    return lines


class KeyDecoder:
    """Turns raw key codes into actions, keeping the Shift latch described in the module docstring."""

    def __init__(self) -> None:
        self._shift = False

    def feed(self, code: int) -> str | None:
        """The action for ``code``, or None (unbound key, or a Shift press that only arms the latch)."""
        name = key_name(code)
        if name is None:
            return None
        if name == "shift":
            self._shift = True
            return None
        shifted, self._shift = self._shift, False
        if shifted and len(name) == 1 and name.isalpha():
            name = name.upper()
        elif shifted and name in ("left", "right"):
            name = f"shift+{name}"
        return _NAME_TO_ACTION.get(name)

    def clear(self) -> None:
        """Forget a pending Shift (a mouse event showed it is no longer held)."""
        self._shift = False
