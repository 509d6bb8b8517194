"""Files the app writes for itself, found holding valid JSON or TOML of the wrong shape (edited by hand, written
by another tool): one line naming the file and the fix, or the damaged part skipped; never a traceback."""

from __future__ import annotations

import json

import pytest

from xmem_tui.cli import main

from .procs import RelProject, file_digests
from .test_bad_inputs import one_line_error

STATES = {
    "array": "[]",
    "null": "null",
    "no_fingerprint": '{"shape": [96, 160], "objects": {}, "frames": {}}',
    "frames_a_list": None,  # the real state with "frames": [...]
    "provenance_a_number": None,  # the real state with one record's provenance = 5
}


@pytest.mark.parametrize("case", sorted(STATES))
def test_state_json_of_the_wrong_shape_is_one_line_and_repair_rebuilds_it(
        annotated: RelProject, capsys: pytest.CaptureFixture[str], case: str) -> None:
    ws = annotated.workspace()
    ws.write_frame(5, annotated.truth[5], provenance="user:free")
    ws.compact()
    masks = file_digests(ws.root / "masks")
    state = json.loads((ws.root / "state.json").read_text())
    if case == "frames_a_list":
        state["frames"] = [state["frames"]]
    elif case == "provenance_a_number":
        state["frames"]["5"]["provenance"] = 5
    (ws.root / "state.json").write_text(STATES[case] or json.dumps(state))
    config = ["--config", str(annotated.config)]
    for argv in (["propagate", "clip.mp4", "--from", "0"], ["export", "clip.mp4", "--kind", "mask"],
                 ["review", "clip.mp4"]):
        one_line_error(capsys, main([*config, *argv]), "state.json is not a workspace state",
                       f"run `xmem-tui repair {annotated.video}`")
    assert file_digests(ws.root / "masks") == masks  # nothing saved is touched
    assert main([*config, "repair", "clip.mp4"]) == 0
    assert annotated.workspace().user_frames() == [0, 5]


def test_progress_and_journal_lines_of_the_wrong_shape_are_skipped(annotated: RelProject,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    job = annotated.queue.submit("propagate", "source/clip.mp4", {"start": 0, "end": 3})
    progress = annotated.queue.progress_path(job.id)
    ws = annotated.workspace()
    config = ["--config", str(annotated.config)]
    for text in ("[]", '{"done": "all", "total": 3}', '{"done": 1, "total": 3, "stats": [1]}', '"x"'):
        progress.parent.mkdir(parents=True, exist_ok=True)
        progress.write_text(text)
        ws.progress_path.write_text(text)
        assert main([*config, "jobs", "list"]) == 0 and main([*config, "jobs", "show", job.id]) == 0
        assert annotated.queue.progress(job.id) is None
    with open(ws.root / "frames.jsonl", "a") as journal:
        journal.write('{"f": "x", "provenance": 1}\n[1, 2]\n{"object": 3, "name": 7, "color": "red"}\n')
    assert main([*config, "review", "clip.mp4"]) == 0
    assert annotated.workspace().user_frames() == [0] and sorted(annotated.workspace().objects) == [1, 2]
    capsys.readouterr()
