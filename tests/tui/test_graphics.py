"""Terminal graphics: detection from an injected environment, the config key that forces a mode, the
dithered 256-colour rendering tmux gets, and the preview widget each mode makes."""

from __future__ import annotations

import numpy as np
import pytest
import textual_image.widget
from rich.color import ColorType

from xmem_tui.config import load_settings
from xmem_tui.errors import ConfigError
from xmem_tui.tui.app import make_app
from xmem_tui.tui.graphics import CUBE_LEVELS, GREY_LEVELS, detect_graphics, dither_256
from xmem_tui.tui.widgets.preview import Preview, half_block_text

TMUX = {"TERM": "screen-256color", "TMUX": "/tmp/tmux-0/default,123,0"}


@pytest.mark.parametrize(("env", "mode"), [
    (TMUX, "256"),
    ({"TERM": "tmux-256color"}, "256"),
    ({**TMUX, "COLORTERM": "truecolor"}, "truecolor"),
    ({**TMUX, "KITTY_WINDOW_ID": "1", "TERM_PROGRAM": "WezTerm"}, "256"),  # tmux passes no graphics through
    ({"TERM": "xterm-kitty", "COLORTERM": "truecolor"}, "kitty"),
    ({"TERM": "xterm-256color", "KITTY_WINDOW_ID": "3"}, "kitty"),
    ({"TERM": "xterm-ghostty", "COLORTERM": "truecolor"}, "kitty"),
    ({"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm", "COLORTERM": "truecolor"}, "sixel"),
    ({"TERM": "foot"}, "sixel"),
    ({"TERM": "xterm-256color", "KONSOLE_VERSION": "230804"}, "sixel"),
    ({"TERM": "xterm-256color", "COLORTERM": "truecolor"}, "truecolor"),
    ({"TERM": "xterm-256color"}, "256"),
    ({}, "256"),
])
def test_detection_from_the_environment(env: dict[str, str], mode: str) -> None:
    assert detect_graphics(env) == mode


@pytest.mark.parametrize("forced", ["kitty", "sixel", "truecolor", "256"])
def test_a_forced_mode_wins_over_the_guess(forced: str) -> None:
    assert detect_graphics(TMUX, forced) == forced


def test_the_config_key_is_validated(tmp_path) -> None:
    assert load_settings(None, {"tui.graphics": "sixel"}, project_dir=tmp_path).tui.graphics == "sixel"
    with pytest.raises(ConfigError, match=r"tui.graphics = 'sixels' is not allowed; use one of: auto, kitty"):
        load_settings(None, {"tui.graphics": "sixels"}, project_dir=tmp_path)


def _palette() -> np.ndarray:
    table = np.zeros((256, 3), np.float64)
    for index in range(216):
        table[16 + index] = CUBE_LEVELS[index // 36], CUBE_LEVELS[index // 6 % 6], CUBE_LEVELS[index % 6]
    table[232:] = GREY_LEVELS[:, None]
    return table


def _blur(image: np.ndarray, k: int = 4) -> np.ndarray:
    """What the eye sees of a k x k patch of cells: its mean colour."""
    h, w = image.shape[0] // k * k, image.shape[1] // k * k
    return image[:h, :w].reshape(h // k, k, w // k, k, -1).mean(axis=(1, 3))


def test_dithering_keeps_gradients_that_nearest_colours_turn_into_bands() -> None:
    """The mosaic under tmux: each pixel snapped to its nearest palette colour. Dithered, the local
    average stays close to the picture; snapped, a smooth gradient becomes flat bands."""
    x = np.linspace(0, 1, 160)
    y = np.linspace(0, 1, 64)[:, None]
    image = np.stack([np.broadcast_to(200 * x + 30, (64, 160)), 120 + 60 * y * np.ones((1, 160)),
                      np.broadcast_to(220 - 150 * x, (64, 160))], axis=-1).round().astype(np.uint8)
    palette = _palette()
    dithered = palette[dither_256(image)]
    candidates = palette[16:]
    nearest = candidates[np.argmin(((image[..., None, :].astype(np.float64) - candidates) ** 2).sum(-1), axis=-1)]
    source = _blur(image.astype(np.float64))
    error_dithered = np.abs(_blur(dithered) - source).mean()
    error_nearest = np.abs(_blur(nearest) - source).mean()
    assert error_dithered < 0.6 * error_nearest, (error_dithered, error_nearest)
    assert dither_256(image).min() >= 16  # only the fixed palette, never the 16 themable colours


def test_greys_use_the_grey_ramp() -> None:
    grey = np.full((8, 8, 3), 128, np.uint8)
    indices = dither_256(grey)
    assert ((indices >= 232) | (indices == 16) | (indices == 231)).all()
    assert abs(_palette()[indices].mean() - 128) < 3


def test_half_blocks_in_256_colours_use_only_palette_colours() -> None:
    image = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    for mode, kind in (("256", ColorType.EIGHT_BIT), ("truecolor", ColorType.TRUECOLOR)):
        text = half_block_text(image, mode)
        styles = [span.style for span in text.spans]
        assert len(styles) == 15  # 5 columns x 3 rows of cells
        assert {s.color.type for s in styles} == {kind} and {s.bgcolor.type for s in styles} == {kind}


@pytest.mark.parametrize(("graphics", "widget"), [("kitty", "TGPImage"), ("sixel", "SixelImage")])
async def test_graphics_terminals_get_real_pixels(settings, fake, graphics: str, widget: str) -> None:
    app = make_app(settings, fake, graphics=graphics)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        preview = app.screen.query_one(Preview)
        assert preview.image is not None
        child = preview.query_one("#graphics")
        assert isinstance(child, getattr(textual_image.widget, widget))
        assert child.image.size == (preview.image.shape[1], preview.image.shape[0])
        assert preview.image.shape[1] >= 5 * preview.size.width  # pixels, not one per character cell


async def test_the_app_guesses_from_the_terminal_it_runs_in(settings, fake, monkeypatch) -> None:
    for name in ("COLORTERM", "KITTY_WINDOW_ID", "TERM_PROGRAM", "KONSOLE_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "tmux-256color")
    assert make_app(settings, fake).graphics == "256"
    forced = load_settings(None, {"tui.graphics": "truecolor"}, project_dir=settings.project_dir)
    assert make_app(forced, fake).graphics == "truecolor"
