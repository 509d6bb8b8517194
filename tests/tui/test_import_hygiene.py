"""The dashboard paints without torch or OpenCV: both cost seconds to import on a small machine.

Checked in fresh interpreters, since this test process has long imported both.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TUI_TESTS = Path(__file__).resolve().parent


def run_python(code: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_importing_the_app_imports_neither_torch_nor_cv2(tmp_path: Path) -> None:
    code = "import sys, xmem_tui.tui.app, xmem_tui.commands.tui; print('torch' in sys.modules, 'cv2' in sys.modules)"
    assert run_python(code, tmp_path) == "False False"


def test_driving_every_screen_imports_neither_torch_nor_cv2(tmp_path: Path) -> None:
    """With the fake service, the whole UI (every screen, the export dialog's lists, the engine label)."""
    code = f"""
import asyncio, sys
from pathlib import Path
sys.path.insert(0, {str(TUI_TESTS)!r})
from conftest import FakeService
from xmem_tui.config import load_settings
from xmem_tui.tui.app import make_app

async def main():
    (Path.cwd() / "source").mkdir()
    app = make_app(load_settings(None, project_dir=Path.cwd()), FakeService(Path.cwd()))
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("enter", "right", "e", "escape", "escape", "j", "question_mark", "escape", "s"):
            await pilot.press(key)
            await app.workers.wait_for_complete()
            await pilot.pause()
asyncio.run(main())
print('torch' in sys.modules, 'cv2' in sys.modules)
"""
    assert run_python(code, tmp_path) == "False False"


def test_the_real_engine_label_does_not_import_torch(tmp_path: Path) -> None:
    code = f"""
import sys
from pathlib import Path
from xmem_tui.config import load_settings
from xmem_tui.tui.service import DashboardService
label = DashboardService(load_settings(None, project_dir=Path({str(tmp_path)!r}))).engine_label()
print(label.replace(' ', '_'), 'torch' in sys.modules)
"""
    assert run_python(code, tmp_path) == "weight-free_(optical_flow) False"
