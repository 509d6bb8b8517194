"""The worker as a real process: pickup latency, races, cancel, stop signals, bad files, out-of-memory."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

from xmem_tui.jobs.pidfile import ensure_worker, lock_held, stop_worker, worker_status

from .helpers import Project, wait_for


def _state(project: Project, job_id: str) -> str:
    return project.queue.get(job_id).state


def test_watchdog_picks_up_a_new_job_fast(project: Project) -> None:
    worker = project.worker("--rescan", "120")  # a rescan cannot explain a fast pickup
    project.wait_alive()
    wait_for(lambda: worker_status(project.jobs).heartbeat, 10, what="the first heartbeat")
    time.sleep(0.5)  # past start-up: the worker is idle, waiting on the watcher
    latencies = []
    for _ in range(3):
        t0 = time.monotonic()
        job = project.queue.submit("slow", "a.mp4", {"n": 1, "delay": 0.0})
        wait_for(lambda j=job: _state(project, j.id) != "queued", 10, interval=0.005, what="pickup")
        latencies.append(time.monotonic() - t0)
        wait_for(lambda j=job: _state(project, j.id) == "done", 10, what="job done")
    print(f"pickup latency: {', '.join(f'{x * 1000:.0f} ms' for x in latencies)}")
    assert max(latencies) < 5.0
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0


def test_two_workers_race_and_each_job_runs_once(project: Project) -> None:
    ids = [project.queue.submit("slow", "a.mp4", {"n": 3, "delay": 0.02}).id for _ in range(12)]
    workers = [project.worker("--once", name=f"w{i}") for i in range(2)]
    codes = [w.wait(120) for w in workers]
    ledger = project.ledger()
    assert sorted(ledger) == sorted((i, u) for i in ids for u in range(3))
    assert set(ledger.values()) == {1}
    assert all(project.queue.get(i).state == "done" for i in ids)
    for code, name in zip(codes, ("w0", "w1"), strict=True):  # the loser is refused, or found nothing left
        assert code == 0 or (code == 2 and "already serves" in project.output(name)), project.output(name)


def test_second_worker_is_refused_while_one_runs(project: Project) -> None:
    first = project.worker()
    pid = project.wait_alive()
    second = project.cli("worker", "--once")
    assert second.returncode == 2 and f"pid {pid}" in second.stderr and "already serves" in second.stderr
    first.send_signal(signal.SIGINT)
    assert first.wait(20) == 0 and not lock_held(project.jobs)


def test_malformed_job_fails_and_the_worker_goes_on(project: Project) -> None:
    project.queue.ensure()
    (project.jobs / "queued" / "0-bad.toml").write_text("kind = 'slow'\nvideo = \n")
    (project.jobs / "queued" / "1-unknown.toml").write_text("kind = 'teleport'\nvideo = 'a.mp4'\n")
    good = project.queue.submit("slow", "a.mp4", {"n": 1, "delay": 0.0})
    worker = project.worker("--once")
    assert worker.wait(60) == 0, project.output()
    bad, unknown = project.queue.get("0-bad"), project.queue.get("1-unknown")
    assert bad.state == "failed" and "not valid TOML" in bad.error
    assert unknown.state == "failed" and "unknown kind 'teleport'" in unknown.error and unknown.kind == "teleport"
    assert project.queue.get(good.id).state == "done"


def test_cancel_during_a_run(project: Project) -> None:
    # Long enough (40 s) that the job is still running when the CLI's cancel lands on a loaded machine.
    job = project.queue.submit("slow", "a.mp4", {"n": 2000, "delay": 0.02})
    project.worker()
    wait_for(lambda: (p := project.queue.progress(job.id)) and p.done >= 5, 30, what="progress")
    result = project.cli("jobs", "cancel", job.id)
    assert result.returncode == 0 and "cancel requested" in result.stdout
    wait_for(lambda: _state(project, job.id) == "cancelled", 10, what="the job to be cancelled")
    done = sum(project.ledger().values())
    time.sleep(0.3)
    assert sum(project.ledger().values()) == done < 2000  # nothing ran after the cancel
    finished = project.queue.get(job.id)
    assert finished.result["done"] == done and finished.error == "cancelled by the user"


def test_sigterm_requeues_and_a_new_worker_finishes_without_repeating_work(project: Project) -> None:
    job = project.queue.submit("slow", "a.mp4", {"n": 40, "delay": 0.03})
    worker = project.worker()
    wait_for(lambda: (p := project.queue.progress(job.id)) and p.done >= 8, 30, what="progress")
    t0 = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    stop_s = time.monotonic() - t0
    requeued = project.queue.get(job.id)
    units = sum(project.ledger().values())
    assert requeued.state == "queued" and requeued.attempts == 0 and requeued.error == ""
    assert requeued.resume["done"] == units < 40
    print(f"stopped {stop_s * 1000:.0f} ms after SIGTERM, {units} units done")
    assert project.worker("--once", name="second").wait(60) == 0
    assert project.queue.get(job.id).state == "done"
    assert project.ledger() == {(job.id, u): 1 for u in range(40)}


def test_progress_file_is_never_torn_for_a_reader(project: Project) -> None:
    job = project.queue.submit("slow", "a.mp4", {"n": 150, "delay": 0.01})
    reader = textwrap.dedent(f"""
        import json, sys, time, pathlib
        path = pathlib.Path({str(project.queue.progress_path(job.id))!r})
        reads = torn = 0; seen = []
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                text = path.read_text()
            except FileNotFoundError:
                continue
            reads += 1
            try:
                data = json.loads(text)
            except ValueError:
                torn += 1
                continue
            seen.append(data["done"])
            if data["done"] == data["total"]:
                break
            time.sleep(0.0005)
        print(json.dumps({{"reads": reads, "torn": torn, "seen": seen}}))
    """)
    read = subprocess.Popen([sys.executable, "-c", reader], stdout=subprocess.PIPE, text=True, env=project.env())
    project.worker("--once")
    out, _ = read.communicate(timeout=90)
    report = json.loads(out)
    print(f"progress reader: {report['reads']} reads, {len(set(report['seen']))} distinct values")
    assert report["torn"] == 0 and report["reads"] > 10
    assert report["seen"] == sorted(report["seen"]) and report["seen"][-1] == 150


def test_out_of_memory_is_retried_once_then_names_the_settings(project: Project) -> None:
    job = project.queue.submit("oom", "a.mp4")
    assert project.worker("--once").wait(60) == 0
    failed = project.queue.get(job.id)
    assert failed.state == "failed"
    assert "xmem.max_long_term_elements" in failed.error and "processing.size" in failed.error
    assert "retrying with xmem.max_long_term_elements" in project.queue.log_path(job.id).read_text()


def test_ensure_worker_starts_one_detached_worker(project: Project) -> None:
    settings = project.settings
    assert not worker_status(settings).alive
    pid = ensure_worker(settings)
    assert ensure_worker(settings) == pid
    status = wait_for(lambda: (s := worker_status(settings)).heartbeat and s, 10, what="a heartbeat")
    assert status.alive and status.pid == pid and not status.stale
    assert (project.jobs / "worker.log").exists()
    job = project.queue.submit("slow", "a.mp4", {"n": 2, "delay": 0.0})
    wait_for(lambda: _state(project, job.id) == "done", 20, what="the detached worker to run the job")
    assert stop_worker(settings) and not worker_status(settings).alive


def test_detach_from_the_shell(project: Project) -> None:
    started = project.cli("worker", "--detach")
    assert started.returncode == 0, started.stderr
    status = project.cli("worker", "--status", "--json")
    data = json.loads(status.stdout)
    assert data["alive"] and data["pid"] and str(data["pid"]) in started.stdout
    again = project.cli("worker", "--detach")
    assert again.returncode == 2 and "already running" in again.stderr
    stopped = project.cli("worker", "--stop")
    assert "worker stopped" in stopped.stdout and not lock_held(project.jobs)
