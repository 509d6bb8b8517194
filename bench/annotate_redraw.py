"""Redraw time of the annotation window at 1080p: render (numpy/cv2) and imshow + event pump (highgui).

Needs a display (run under Xvfb: ``xvfb-run -s "-screen 0 1920x1200x24" .venv/bin/python
bench/annotate_redraw.py``). Builds a temporary project whose image folder holds real judo frames scaled
to 1920x1080, paints two objects, and times the redraws the window does: a stroke/cursor redraw (cached
layers), a redraw after a mask edit, a frame change, and the same at 1:1 zoom. Prints a table.

Then (with xdotool) it times closing the real window: ``q`` to the window vanishing and to the process
ending, for ``xmem-tui annotate`` as the program (it ends at once once everything is saved) against a
baseline measured in the same run, the same command called as a function, which leaves the interpreter
to tear torch and Qt down (what closing cost before: 2.3-2.7 s on a loaded 2-core machine).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from xmem_tui.annotate.controller import Controller
from xmem_tui.annotate.render import Renderer
from xmem_tui.annotate.segmenters import Segmenters
from xmem_tui.config import load_settings
from xmem_tui.media.frames import open_frames
from xmem_tui.workspace import Workspace

REPEAT = 40
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "media" / "judo" / "JPEGImages"


def _project(root: Path) -> Path:
    folder = root / "source" / "judo1080"
    folder.mkdir(parents=True)
    for src in sorted(SHARED.glob("*.jpg"))[:6]:
        image = cv2.resize(cv2.imread(str(src)), (1920, 1080), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(folder / src.name), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return folder


def _time(setup: Callable[[], None], ctl: Controller, renderer: Renderer, title: str,
          timed_setup: bool = False) -> tuple[float, float]:
    """Median ms of (setup if timed + render, imshow + one event pump)."""
    render, show = [], []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        setup()
        if not timed_setup:
            t0 = time.perf_counter()
        canvas = renderer.render(ctl)
        t1 = time.perf_counter()
        cv2.imshow(title, canvas)
        cv2.waitKey(1)
        t2 = time.perf_counter()
        render.append(t1 - t0)
        show.append(t2 - t1)
    return statistics.median(render) * 1000, statistics.median(show) * 1000


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="xmem-bench-"))
    try:
        video = _project(root)
        settings = load_settings(None, project_dir=root)
        ws = Workspace.for_video(settings, video)
        with open_frames(video, info=ws.info, cache_bytes=1) as frames:  # no cache: every step decodes
            ctl = Controller(ws, frames, settings, Segmenters(lambda: None, lambda: None))  # type: ignore[arg-type,return-value]
            ctl.mode = "lasso"
            for k, box in ((1, (300, 200, 700, 850)), (2, (800, 150, 1200, 880))):
                ctl.object = k
                x0, y0, x1, y1 = box
                ctl.mouse_down("left", x0, y0)
                for p in ((x1, y0), (x1, y1), (x0, y1)):
                    ctl.mouse_move(*p)
                ctl.mouse_up("left", x0, y1)
            title = "bench"
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
            renderer = Renderer()
            rng = np.random.default_rng(0)

            def cursor() -> None:
                ctl.stroke, ctl.stroke_button = [(int(x), 500) for x in rng.integers(0, 1600, 20)], "left"

            def mask_edit() -> None:
                ctl.stroke, ctl.stroke_button = [], None
                ctl.mask_version += 1

            def frame_change() -> None:
                ctl.goto((ctl.frame + 1) % ctl.count)

            rows = []
            for view in ("overlay", "contour"):
                ctl.view = view
                rows.append((f"{view}: stroke/cursor", *_time(cursor, ctl, renderer, title)))
                rows.append((f"{view}: mask edited", *_time(mask_edit, ctl, renderer, title)))
                rows.append((f"{view}: frame change", *_time(frame_change, ctl, renderer, title)))
            ctl.view = "overlay"
            rows.append(("overlay: key Right, incl. JPEG decode", *_time(frame_change, ctl, renderer, title, True)))
            ctl.viewport.zoom(1, 800, 450)
            rows.append(("overlay 1:1 zoom: mask edited", *_time(mask_edit, ctl, renderer, title)))
            rows.append(("overlay 1:1 zoom: frame change", *_time(frame_change, ctl, renderer, title)))
            cv2.destroyAllWindows()
        vp = ctl.viewport
        print(f"source 1920x1080, masks {ws.shape[1]}x{ws.shape[0]}, canvas {vp.width}x{vp.height}+HUD, "
              f"median of {REPEAT}")
        print(f"{'redraw':<34}{'render ms':>10}{'imshow+pump ms':>16}{'total ms':>10}")
        for name, render, show in rows:
            print(f"{name:<34}{render:>10.1f}{show:>16.1f}{render + show:>10.1f}")
        _print_close_times(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


#: How the window is started: as the program, and (the baseline) through ``main(argv)`` as a function.
LAUNCHERS = {
    "xmem-tui annotate (program)": ["-m", "xmem_tui"],
    "baseline: main(argv), full teardown": ["-c", "import sys; from xmem_tui.cli import main; "
                                                  "sys.exit(main(sys.argv[1:]))"],
}
CLOSE_REPEAT = 3


def _xdotool(*args: str) -> str:
    return subprocess.run(["xdotool", *args], capture_output=True, text=True, check=False).stdout


def _close_once(root: Path, launcher: list[str]) -> tuple[float, float]:
    """(q -> window gone, q -> process ended) in seconds, for one window opened once its segmenters are ready."""
    log_path = root / "close.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, *launcher, "annotate", "source/judo1080"], cwd=root,
                                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "XMEM_TUI_CONFIG": ""})
    deadline = time.monotonic() + 120
    window = ""
    while not window or "segmenters ready" not in log_path.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the window did not open: {log_path.read_text(errors='replace')[-500:]}")
        window = window or next(iter(_xdotool("search", "--name", "xmem-tui annotate").split()), "")
        time.sleep(0.05)
    _xdotool("windowfocus", "--sync", window)
    time.sleep(0.5)
    start = time.perf_counter()
    _xdotool("key", "q")
    while _xdotool("search", "--onlyvisible", "--name", "xmem-tui annotate").split():
        time.sleep(0.005)
    gone = time.perf_counter() - start
    proc.wait(60)
    return gone, time.perf_counter() - start


def _print_close_times(root: Path) -> None:
    if shutil.which("xdotool") is None:
        print("window close: not measured (needs xdotool)")
        return
    rows = {}
    for name, launcher in LAUNCHERS.items():
        runs = [_close_once(root, launcher) for _ in range(CLOSE_REPEAT)]
        rows[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
    baseline = rows["baseline: main(argv), full teardown"][1]
    print(f"\n{'close the window (q), median of ' + str(CLOSE_REPEAT):<40}{'window gone s':>14}{'process ended s':>16}"
          f"{'vs baseline':>12}")
    for name, (gone, ended) in rows.items():
        print(f"{name:<40}{gone:>14.2f}{ended:>16.2f}{ended / baseline:>11.2f}x")


if __name__ == "__main__":
    sys.exit(main())
