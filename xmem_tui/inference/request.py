"""A propagation request and its result, as every client builds them and the job file stores them.

The CLI (``xmem-tui propagate``), the dashboard and the annotation window each build one
:class:`PropagationRequest`; it is stored whole as a propagate job's ``[params]``, rebuilt by the runner
(unknown keys refused, every value type-checked) and passed down whole to
:func:`~xmem_tui.inference.service.run_propagation` and :func:`~xmem_tui.inference.propagation.propagate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xmem_tui.params import JobRequest, JobResult

_FRAME = {"what": "a frame number", "lo": 0}


@dataclass(frozen=True)
class PropagationRequest(JobRequest):
    """What to propagate.

    Attributes:
        start: the annotated frame to start from.
        end: last frame (inclusive); None: the video's last frame (first, going backward).
        backward: towards frame 0.
        until_keyframe: stop before the next user-annotated frame instead of passing through it.
        engine: an engine name or "auto" for this run only (``--engine``); None: the engine chosen for
            the video (its workspace), else ``processing.engine``. Clients that follow the video's
            choice (dashboard, window) leave it None, so the run uses the choice in effect when it starts.
        clear_memory: remember only the start frame (and the user frames the run reaches), not the
            video's other annotated frames.
    """

    start: int = field(metadata={**_FRAME, "missing": "give the annotated frame to propagate from"})
    end: int | None = field(default=None, metadata=_FRAME)
    backward: bool = False
    until_keyframe: bool = False
    engine: str | None = None
    clear_memory: bool = False

    @property
    def keyframe_memory(self) -> bool:
        """Prime the engine with every other annotated frame of the video (not a "clear memory" run)."""
        return not self.clear_memory

    @property
    def direction(self) -> str:
        return "backward" if self.backward else "forward"


@dataclass(frozen=True)
class PropagationResult(JobResult):
    """What a propagate job reports: its run, where it got to, which engine ran it.

    Attributes:
        run: the propagation run id stored in every mask it wrote.
        resumed_after: the frame an earlier attempt had reached (None: not resumed).
        last_frame: the last frame processed.
        engine: the engine's label; ``weight_free`` whether it was the fallback.
    """

    run: str = ""
    resumed_after: int | None = None
    last_frame: int | None = None
    engine: str = ""
    weight_free: bool = False

    def summary(self) -> str:
        resumed = f", resumed_after={self.resumed_after}" if self.resumed_after is not None else ""
        return f"done={self.done}, engine={self.engine}{resumed}"
