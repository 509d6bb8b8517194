"""The export dialog: a field for every request option (new ones included), Enter submits from the output
field, batch export of the marked videos, bad numbers refused in place."""

from __future__ import annotations

import dataclasses

import pytest
from textual.widgets import Input, Select

from xmem_tui.export.request import ExportRequest
from xmem_tui.tui.app import make_app
from xmem_tui.tui.screens import export_dialog
from xmem_tui.tui.screens.export_dialog import ExportDialog


async def settle(pilot, app) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def open_dialog(pilot, app, *keys: str) -> ExportDialog:
    await settle(pilot, app)
    await pilot.press(*keys, "e")
    await pilot.pause()
    dialog = app.screen
    assert isinstance(dialog, ExportDialog)
    return dialog


async def test_every_request_field_has_a_widget(settings, fake) -> None:
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(100, 40)) as pilot:
        dialog = await open_dialog(pilot, app)
        for f in dataclasses.fields(ExportRequest):
            assert dialog.query(f"#{f.name}"), f"no field for {f.name}"
        assert isinstance(dialog.query_one("#audio"), Select) and isinstance(dialog.query_one("#aspect"), Input)
        assert dialog.focused is dialog.query_one("#kind"), "the kind comes first, the output path next"


async def test_enter_in_the_output_field_exports_with_reframe_and_audio_options(settings, fake) -> None:
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(100, 40)) as pilot:
        dialog = await open_dialog(pilot, app)
        dialog.query_one("#kind", Select).value = "reframe"
        dialog.query_one("#audio", Select).value = "aac"
        dialog.query_one("#aspect", Input).value = "4:5"
        dialog.query_one("#size", Input).value = "1080x1350"
        dialog.query_one("#despill", Select).value = False
        await pilot.press("tab")  # kind -> output
        assert dialog.focused is dialog.query_one("#out")
        await pilot.press(*"exports/ig.mp4", "enter")
        await settle(pilot, app)
        await settle(pilot, app)
        assert ("export", "dance.mp4", {"kind": "reframe", "out": "exports/ig.mp4", "despill": False,
                                         "audio": "aac", "aspect": "4:5", "size": "1080x1350"}) in fake.calls


async def test_a_field_added_to_the_request_appears_without_editing_the_dialog(settings, fake, monkeypatch) -> None:
    @dataclasses.dataclass(frozen=True)
    class WithOverwrite(ExportRequest):
        overwrite: bool | None = None
        strength: float | None = None

    monkeypatch.setattr(export_dialog, "ExportRequest", WithOverwrite)
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(100, 40)) as pilot:
        dialog = await open_dialog(pilot, app)
        dialog.query_one("#overwrite", Select).value = True
        dialog.query_one("#strength", Input).value = "0.25"
        assert dialog.request() == WithOverwrite(kind="greenscreen", overwrite=True, strength=0.25)


async def test_a_bad_number_is_refused_in_the_dialog(settings, fake) -> None:
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(100, 40)) as pilot:
        dialog = await open_dialog(pilot, app)
        dialog.query_one("#feather", Input).value = "soft"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert app.screen is dialog
        assert "feather px: 'soft' is not a number" in str(dialog.query_one("#export-error").render())
        assert not [c for c in fake.calls if c[0].startswith("export")]


async def test_batch_export_of_the_marked_videos(settings, fake) -> None:
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("v", "v")  # marks dance.mp4, moves down, marks phone_vfr.mp4
        await settle(pilot, app)
        table = app.screen.query_one("#sources")
        assert ["✓" in str(table.get_row_at(i)[0]) for i in range(2)] == [True, True]
        dialog = await open_dialog(pilot, app)
        assert dialog.batch and "export 2 videos the same way" in str(dialog.query_one(".dialog-title").render())
        assert dialog.query_one("#out", Input).placeholder.startswith("exports/ (each video")
        dialog.query_one("#kind", Select).value = "mask"
        dialog.query_one("#out", Input).focus()
        await pilot.press(*"deliver", "enter")
        await settle(pilot, app)
        await settle(pilot, app)
        assert ("export_all", ("dance.mp4", "phone_vfr.mp4"), {"kind": "mask", "out": "deliver"}) in fake.calls


@pytest.mark.parametrize("marks", [0, 1])
async def test_without_marks_or_with_one_the_video_under_the_cursor_or_the_marked_one_exports(
        settings, fake, marks: int) -> None:
    app = make_app(settings, fake, graphics="truecolor")
    async with app.run_test(size=(100, 40)) as pilot:
        dialog = await open_dialog(pilot, app, *(["down", "v", "up"] if marks else []))
        assert not dialog.batch
        assert [v.name for v in dialog.videos] == ["phone_vfr.mp4" if marks else "dance.mp4"]
