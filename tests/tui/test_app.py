"""Pilot tests: every binding and flow of the dashboard, with the fake service."""

from __future__ import annotations

from xmem_tui.progress import Progress
from xmem_tui.tui.app import make_app
from xmem_tui.tui.screens.dashboard import DashboardScreen
from xmem_tui.tui.screens.export_dialog import ExportDialog
from xmem_tui.tui.screens.help import HelpScreen
from xmem_tui.tui.screens.jobs import JobsScreen
from xmem_tui.tui.screens.video import VideoScreen
from xmem_tui.tui.widgets.preview import Preview
from xmem_tui.tui.widgets.propagation_panel import PropagationPanel
from xmem_tui.tui.widgets.timeline import Timeline, bucket_states

SIZE = (80, 24)


async def settle(pilot, app) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_sources_table_lists_every_source(settings, fake) -> None:
    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one("#sources")
        assert table.row_count == 2
        assert [str(c) for c in table.get_row_at(1)][1:4] == ["phone_vfr.mp4", "29.97 VFR", "40"]
        assert "greenscreen" in str(table.get_row_at(0)[-1]) and "passed" in str(table.get_row_at(0)[-1])
        await pilot.press("down")
        await settle(pilot, app)
        assert "1920x1080, 12.0s, 40 frames" in str(screen.query_one("#source-info").render())


async def test_open_video_move_frames_and_propagate(settings, fake) -> None:
    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        video = app.screen
        assert isinstance(video, VideoScreen)
        await pilot.press("right", "right", "shift+right")
        await settle(pilot, app)
        assert video.frame == 12
        assert app.screen.query_one(Timeline).current == 12
        assert ("preview", "dance.mp4", 12) in fake.calls
        await pilot.press("end")
        assert video.frame == 39
        await pilot.press("home")
        assert video.frame == 0
        await pilot.press("p")
        await settle(pilot, app)
        await pilot.press("right", "P", "full_stop", "comma")
        await settle(pilot, app)
        props = [c for c in fake.calls if c[0] == "propagate"]
        assert props == [("propagate", "dance.mp4", 0, False, False, False),
                         ("propagate", "dance.mp4", 1, True, False, False),
                         ("propagate", "dance.mp4", 1, False, True, False),
                         ("propagate", "dance.mp4", 1, True, True, False)]
        await pilot.press("m", "p")
        await settle(pilot, app)
        assert [c for c in fake.calls if c[0] == "propagate"][-1] == ("propagate", "dance.mp4", 1, False, False, True)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_propagation_refused_on_a_frame_without_mask(settings, fake) -> None:
    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.press("end", "p")
        await settle(pilot, app)
        assert not [c for c in fake.calls if c[0] == "propagate"]


async def test_annotate_cancel_and_review_entry(settings, fake) -> None:
    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("a")
        await settle(pilot, app)
        assert ("annotate", "dance.mp4", 0) in fake.calls
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.press("p")
        await settle(pilot, app)
        app.refresh_jobs()
        await settle(pilot, app)
        await pilot.press("x")
        await settle(pilot, app)
        assert ("cancel", "job0") in fake.calls
        video = app.screen
        video.query_one("#review").focus()
        await pilot.press("down", "enter")
        await settle(pilot, app)
        assert video.frame == 15
        await pilot.press("right", "a")
        await settle(pilot, app)
        assert ("annotate", "dance.mp4", 16) in fake.calls


async def test_live_progress_panel(settings, fake) -> None:
    fake.progress_value = Progress(done=30, total=60, frame=31, fps=12.5, eta_s=2.4, message="propagating forward",
                             stats={"working_mem": 420, "long_term_mem": 128, "engine": "XMem", "state": "running",
                                    "gpu_mem_used": 2 << 30, "gpu_mem_peak": 3 << 30, "gpu_mem_total": 80 << 30})
    app = make_app(settings, fake)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.pause(1.2)
        await settle(pilot, app)
        text = str(app.screen.query_one(PropagationPanel).render())
        assert "30/60" in text and "12.5 frames/s" in text and "ETA 00:02" in text
        assert "work 420, long-term 128" in text and "GPU 2.0 GiB used / 3.0 GiB peak / 80.0 GiB" in text
        assert "engine: XMem" in text


async def test_export_dialog_submits_request(settings, fake) -> None:
    app = make_app(settings, fake)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        dialog.query_one("#objects").value = "1,2"
        dialog.query_one("#feather").value = "1.5"
        dialog.query_one("#median").value = "5"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert ("export", "dance.mp4", {"kind": "greenscreen", "objects": "1,2", "median": 5, "feather": 1.5}) \
            in fake.calls
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot, app)
        assert len([c for c in fake.calls if c[0] == "export"]) == 1


async def test_jobs_screen_cancel_retry_log_and_worker(settings, fake) -> None:
    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        fake.propagate(fake.sources[0], 0)
        await pilot.press("j")
        app.refresh_jobs()
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        assert screen.query_one("#jobs").row_count == 1
        assert "not running" in str(screen.query_one("#worker-status").render())
        await pilot.press("x", "t", "W")
        await settle(pilot, app)
        assert ("cancel", "job0") in fake.calls and ("retry", "job0") in fake.calls
        assert ("ensure_worker",) in fake.calls
        app.refresh_jobs()
        await settle(pilot, app)
        assert "pid 4242" in str(screen.query_one("#worker-status").render())
        await pilot.press("enter")
        await pilot.pause()
        assert "log of job0" in "\n".join(app.screen.query_one("Log").lines)
        await pilot.press("escape", "s")
        assert isinstance(app.screen, DashboardScreen)


async def test_help_and_quit_say_jobs_keep_running(settings, fake) -> None:
    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        fake.propagate(fake.sources[0], 0)
        app.refresh_jobs()
        await settle(pilot, app)
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


async def test_rename_object(settings, fake) -> None:
    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        app.screen.query_one("#objects").focus()
        await pilot.press("down", "f2")
        await pilot.pause()
        await pilot.press(*"judoka", "enter")
        await settle(pilot, app)
        assert ("rename", "dance.mp4", 2, "judoka") in fake.calls


async def test_preview_renders_half_blocks(settings, fake) -> None:
    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.pause(0.3)
        preview = app.screen.query_one(Preview)
        assert preview.image is not None
        assert "▀" in str(preview.render())


def test_bucket_states_keeps_the_most_important_state() -> None:
    states = ["user", "propagated", "propagated", "stale", "", ""]
    assert bucket_states(states, 3) == ["user", "stale", ""]
    assert bucket_states(states, 6) == states
    assert bucket_states([], 4) == []


async def test_export_dialog_refuses_an_invalid_request(settings, fake) -> None:
    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        dialog.query_one("#objects").value = "7"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await dialog.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is dialog, "an invalid request must keep the dialog open"
        assert "object 7 is not in dance.mp4" in str(dialog.query_one("#export-error").render())
        assert not [c for c in fake.calls if c[0] == "export"]
        dialog.query_one("#objects").value = "2"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await dialog.workers.wait_for_complete()
        await settle(pilot, app)
        assert [c for c in fake.calls if c[0] == "export"] == [("export", "dance.mp4", {"kind": "greenscreen",
                                                                                      "objects": "2"})]


async def test_service_errors_are_notified_with_their_reason(settings, fake) -> None:
    from xmem_tui.errors import WorkspaceError

    fake.fail["propagate"] = WorkspaceError("dance.mp4 is being propagated by pid 99; wait or cancel it (x).")
    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.press("p")
        await settle(pilot, app)
        await pilot.press("p")
        await settle(pilot, app)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert [n.message for n in errors] == ["dance.mp4 is being propagated by pid 99; wait or cancel it (x)."], \
            "the reason is shown once (the same error again within seconds is not repeated)"


async def test_screen_task_errors_are_notified(settings, fake) -> None:
    def broken(path, frame, width, height):
        raise RuntimeError("decoder exploded")

    fake.preview = broken
    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        await settle(pilot, app)
        messages = [n.message for n in app._notifications if n.severity == "error"]
        assert messages == ["RuntimeError: decoder exploded"]


async def test_engine_label_reaches_the_panels(settings, fake) -> None:
    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert "engine: weight-free (optical flow)" in str(app.screen.query_one(PropagationPanel).render())
        await pilot.press("enter")
        await settle(pilot, app)
        assert "engine: weight-free (optical flow)" in str(app.screen.query_one(PropagationPanel).render())


async def test_engine_dialog_sets_the_videos_engine_and_every_panel_labels_it(settings, fake) -> None:
    from xmem_tui.tui.screens.engine_dialog import EngineDialog

    app = make_app(settings, fake)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.press("g")
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, EngineDialog)
        lines = [str(dialog.query_one("#engines").get_option_at_index(i).prompt) for i in range(4)]
        assert "●" in lines[0] and "project default" in lines[0] and "needs models/XMem.pth" in lines[1]
        await pilot.press("escape")  # cancelled: nothing stored
        await settle(pilot, app)
        assert not [c for c in fake.calls if c[0] == "set_engine"]
        await pilot.press("g")
        await settle(pilot, app)
        await pilot.press("down", "down", "enter")  # project default -> XMem -> Cutie
        await settle(pilot, app)
        assert ("set_engine", "dance.mp4", "cutie") in fake.calls
        assert any("dance.mp4 now propagates with Cutie" in n.message for n in app._notifications)
        await pilot.pause(0.6)  # the next detail read
        await settle(pilot, app)
        assert "engine: Cutie" in str(app.screen.query_one(PropagationPanel).render())
        await pilot.press("escape")
        await settle(pilot, app)
        assert "engine: Cutie" in str(app.screen.query_one(PropagationPanel).render())  # the sources panel
        await pilot.press("down")  # the other video keeps the project's engine
        await settle(pilot, app)
        assert "engine: weight-free (optical flow)" in str(app.screen.query_one(PropagationPanel).render())
