"""SIGKILL of the worker in the middle of a propagation and in the middle of an export, then a restart."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from xmem_tui.export.options import temporary

from .checks import assert_masks_whole, assert_records_match_files, mask_files
from .procs import N_FRAMES, RelProject, file_digests, wait_for

pytestmark = pytest.mark.slow  # real processes


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


@pytest.mark.timeout(240)
def test_sigkill_mid_propagation_masks_whole_state_rebuilt_job_resumes(annotated: RelProject) -> None:
    """Beyond tests/jobs/test_crash.py: every file is whole, state.json lost too, and masks stay correct."""
    project = annotated
    job = project.queue.submit("propagate", "source/clip.mp4", {"start": 0, "engine": "flow"})
    worker = project.worker(slow=True)
    wait_for(lambda: (p := project.queue.progress(job.id)) and p.done >= 8, 120, what="8 propagated frames")
    project.kill(worker)

    ws = project.workspace()
    assert project.queue.get(job.id).state == "running"  # as the dead worker left it
    before = assert_masks_whole(ws, {0, 1, 2})
    assert_records_match_files(ws, in_flight=1)
    written = mask_files(ws)
    assert 8 <= len(written) < N_FRAMES and written == list(range(len(written)))
    kept = file_digests(ws.root / "masks")

    (ws.root / "state.json").unlink()  # lose the state too: it is rebuilt from the masks' provenance
    rebuilt = project.workspace()
    assert sorted(rebuilt.records()) == written and rebuilt.user_frames() == [0]

    project.worker(slow=False)  # the unmodified runner resumes the job
    wait_for(lambda: project.queue.get(job.id).state not in ("queued", "running"), 120, what="the resumed job")
    done = project.queue.get(job.id)
    assert done.state == "done", (done.error, project.queue.log_path(job.id).read_text())
    assert done.attempts == 1 and done.result["resumed_after"] >= written[-1] - 1

    final = project.workspace()
    masks = assert_masks_whole(final, {0, 1, 2})
    assert_records_match_files(final)
    assert sorted(final.records()) == list(range(N_FRAMES))
    assert all(final.records()[i].run == done.resume["run"] for i in range(1, N_FRAMES))
    after = file_digests(final.root / "masks")
    untouched = [name for name in kept if int(name[:5]) <= done.result["resumed_after"]]
    assert {n: after[n] for n in untouched} == {n: kept[n] for n in untouched}  # nothing re-written
    for index, mask in before.items():
        if index <= done.result["resumed_after"]:
            np.testing.assert_array_equal(masks[index], mask)
    assert all(masks[i].any() for i in range(N_FRAMES))  # the resumed run still tracks something everywhere


@pytest.mark.timeout(240)
def test_sigkill_mid_export_leaves_no_output_then_job_finishes(project: RelProject) -> None:
    ws = project.workspace()
    for i, mask in enumerate(project.truth):
        ws.write_frame(i, mask, provenance="user:import")
    out = project.root / "exports" / "clip_mask.mkv"
    job = project.queue.submit("export", "source/clip.mp4", {"kind": "mask", "out": "exports/clip_mask.mkv"})
    worker = project.worker(slow=True)
    wait_for(lambda: (p := project.queue.progress(job.id)) and p.done >= 10, 120, what="10 exported frames")
    assert temporary(out).exists()  # the kill lands while the encoder writes
    project.kill(worker)
    assert not out.exists() and not out.with_name(out.name + ".check.json").exists()

    project.worker(slow=False)
    wait_for(lambda: project.queue.get(job.id).state not in ("queued", "running"), 120, what="the re-run export")
    done = project.queue.get(job.id)
    assert done.state == "done" and done.attempts == 1, (done.error, project.queue.log_path(job.id).read_text())
    assert not temporary(out).exists()
    report = json.loads(out.with_name(out.name + ".check.json").read_text())
    assert report["ok"] and not report["problems"]
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert len(frames) == N_FRAMES
    for frame, truth in zip(frames, project.truth, strict=True):  # the matte is the saved masks, frame-exact
        assert _iou(frame > 127, truth > 0) > 0.97
