"""Keys: one key, one meaning across the dashboard and the annotation window; help made from the bindings;
``s`` and Escape go where the help says; the footer keeps "q Quit" at 80x24."""

from __future__ import annotations

import pytest
from textual.binding import Binding
from textual.keys import _character_to_key
from textual.widgets import Footer

from xmem_tui.annotate.keymap import KEYS
from xmem_tui.tui.app import help_sections, make_app
from xmem_tui.tui.screens.dashboard import DashboardScreen
from xmem_tui.tui.screens.help import HelpScreen, bindings_of
from xmem_tui.tui.screens.jobs import JobsScreen
from xmem_tui.tui.screens.video import VideoScreen

WINDOW_NAMES = {"esc": "escape", "pgup": "pageup", "pgdn": "pagedown", "space": "space", "enter": "enter"}


def window_key(name: str) -> str:
    """A window key name (keymap.py) as Textual names the same key."""
    if name in WINDOW_NAMES or "+" in name[1:] or len(name) > 1:
        return WINDOW_NAMES.get(name, name)
    return _character_to_key(name)


def dashboard_meanings() -> dict[str, set[str]]:
    """Textual key -> the meanings (binding ids) it has on any dashboard screen."""
    meanings: dict[str, set[str]] = {}
    for _title, table in help_sections():
        for binding in bindings_of(table):
            for key in binding.key.split(","):
                meanings.setdefault(key.strip(), set()).add(binding.id or binding.action)
    return meanings


def test_every_dashboard_binding_names_its_meaning() -> None:
    missing = [b.key for _t, table in help_sections() for b in bindings_of(table) if not b.id]
    assert not missing


def test_a_key_means_one_thing_on_every_dashboard_screen() -> None:
    assert {key: ids for key, ids in dashboard_meanings().items() if len(ids) > 1} == {}


def test_a_key_bound_in_the_window_and_the_dashboard_means_the_same_in_both() -> None:
    dashboard = dashboard_meanings()
    clashes = {}
    shared = 0
    for binding in KEYS:
        for name in binding.keys:
            key = window_key(name)
            if key in dashboard:
                shared += 1
                if dashboard[key] != {binding.action}:
                    clashes[key] = (binding.action, dashboard[key])
    assert clashes == {}
    assert shared >= 15  # frames, propagation, cancel, memory, review, help, quit, back: the common ground


def test_the_issue_s_clashes_are_gone() -> None:
    """f was the brush in the window and forward propagation in the dashboard; s was scribble and sources."""
    window = {window_key(k): b.action for b in KEYS for k in b.keys}
    assert window["f"] == "mode:free" and "f" not in dashboard_meanings()
    assert dashboard_meanings()["s"] == {"sources"} and "s" not in window
    assert window["p"] == "propagate:forward" == next(iter(dashboard_meanings()["p"]))


async def test_help_lists_every_binding_of_every_screen(settings, fake) -> None:
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        for _title, table in help_sections():
            for binding in bindings_of(table):
                assert (binding.tooltip or binding.description) in text, binding
        assert "pgdn" in text and "f2" in text


async def test_s_goes_to_the_sources_from_the_video_view_and_from_jobs(settings, fake) -> None:
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, VideoScreen)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("enter", "j")
        await pilot.pause()
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen), "s shows the sources, not the video view left open"


async def test_escape_leaves_the_jobs_screen_for_where_you_came_from(settings, fake) -> None:
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("enter", "j")
        await pilot.pause()
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, VideoScreen)


@pytest.mark.parametrize("keys", [(), ("enter",), ("j",)], ids=["sources", "video", "jobs"])
async def test_the_footer_keeps_quit_at_80x24(settings, fake, keys: tuple[str, ...]) -> None:
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        line = app.screen._compositor.render_strips()[footer.region.y].text
        assert "q Quit" in line and "? Help" in line, line


def test_window_key_names_map_to_textual_names() -> None:
    assert [window_key(k) for k in ("?", ".", ",", "P", "esc", "pgdn", "shift+left", "[")] == \
        ["question_mark", "full_stop", "comma", "P", "escape", "pagedown", "shift+left", "left_square_bracket"]
    assert Binding("a", "x").key == "a"
