"""Raw key codes of every highgui backend map to the same actions; the help lists every action."""

from __future__ import annotations

import pytest

from xmem_tui.annotate import actions
from xmem_tui.annotate.keymap import KEYS, KeyDecoder, help_lines, key_name

QT_X11 = {"left": 0xFF51, "right": 0xFF53, "home": 0xFF50, "end": 0xFF57}  # seen under Xvfb with opencv 5 / Qt5
QT_KEY = {"left": 0x01000012, "right": 0x01000014, "home": 0x01000010, "end": 0x01000011}
WINDOWS = {"left": 2424832, "right": 2555904, "home": 2359296, "end": 2293760}


@pytest.mark.parametrize("table", [QT_X11, QT_KEY, WINDOWS])
def test_navigation_keys_of_every_backend(table: dict[str, int]) -> None:
    decoder = KeyDecoder()
    assert [decoder.feed(table[k]) for k in ("left", "right", "home", "end")] == ["prev", "next", "first", "last"]


def test_letters_digits_and_punctuation() -> None:
    decoder = KeyDecoder()
    assert decoder.feed(ord("z")) == "undo"
    assert decoder.feed(ord("0")) == "object:0"
    assert decoder.feed(ord("7")) == "object:7"
    assert decoder.feed(ord("[")) == "brush:-"
    assert decoder.feed(ord(".")) == "step:forward"
    assert decoder.feed(27) == "back"
    assert decoder.feed(ord("?")) == "help"
    assert decoder.feed(-1) is None
    assert decoder.feed(ord("a")) is None  # "a" is the dashboard's annotate, so it means nothing here


def test_shift_latch_turns_the_next_letter_upper_case_once() -> None:
    decoder = KeyDecoder()
    assert decoder.feed(0xFFE1) is None  # Qt reports Shift alone, then a lower-case letter
    assert decoder.feed(ord("p")) == "propagate:backward"
    assert decoder.feed(ord("p")) == "propagate:forward"
    decoder.feed(0xFFE2)
    assert decoder.feed(0xFF53) == "next10"  # Shift+Right
    assert decoder.feed(0xFF53) == "next"
    decoder.feed(0xFFE1)
    decoder.clear()  # a mouse event without Shift held
    assert decoder.feed(ord("p")) == "propagate:forward"
    assert decoder.feed(ord("P")) == "propagate:backward"  # GTK keeps the case


def test_old_gtk_modifier_bits_are_ignored() -> None:
    assert key_name(0x100000 | ord("q")) == "q"


def test_help_lists_every_action_and_every_action_is_known() -> None:
    text = "\n".join(f"{keys} {what}" for keys, what in help_lines())
    for binding in KEYS:
        if binding.help:
            assert binding.help in text
        name, _, _arg = binding.action.partition(":")
        assert name in {"object", "mode", "brush", "view", "zoom", "propagate", "step",
                        *actions._NAVIGATION, *actions._SIMPLE}, binding.action
    assert "wheel" in text and "right" in text
