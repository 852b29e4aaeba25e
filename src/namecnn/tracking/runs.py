"""An MLflow run's life: started with the process that runs it, ended FINISHED, KILLED (Ctrl-C, SIGTERM) or
FAILED, and marked FAILED later when its process died without ending it (kill -9, a full disk, power loss)."""
import contextlib
import os
import signal
import socket
import sys
import threading
from pathlib import Path

import mlflow

from ..errors import NameCNNError
from . import store

HOST, PID, PID_START = "namecnn.host", "namecnn.pid", "namecnn.pid_start"


def process_start(pid):
    """When process `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat), so that a reused
    pid is not taken for the process that died; "" where /proc is missing; None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else ""
    except (OSError, IndexError):
        return ""


def process_tags():
    pid = os.getpid()
    return {HOST: socket.gethostname(), PID: str(pid), PID_START: process_start(pid) or ""}


def alive(tags):
    """Is the process that started a run (its tags) still running?"""
    try:
        pid = int(tags[PID])
    except (KeyError, ValueError):
        return True                                   # not ours to judge
    start = process_start(pid)
    if start == "":
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return start is not None and start == tags.get(PID_START, start)


def mark_dead(client=None):
    """Mark FAILED every RUNNING run that this host started and whose process is gone; returns their ids."""
    client = client or mlflow.MlflowClient()
    host = socket.gethostname()
    experiments = [e.experiment_id for e in client.search_experiments()]
    dead = []
    if not experiments:
        return dead
    for run in client.search_runs(experiments, f"attributes.status = 'RUNNING' and tags.`{HOST}` = '{host}'",
                                  max_results=5000):
        if not alive(run.data.tags):
            client.set_tag(run.info.run_id, "namecnn.ended",
                           f"process {run.data.tags[PID]} on {host} ended without ending this run; marked FAILED")
            client.set_terminated(run.info.run_id, "FAILED")
            dead.append(run.info.run_id)
    return dead


def start_run(experiment_id, run_name, stage, root=None, tags=None, nested=False, parent_run_id=None,
              description=None):
    """mlflow.start_run with the stage's tags and this process's host and pid. A top-level run first marks
    FAILED the runs whose process died. A broken or unreachable store is a one-line NameCNNError."""
    root = root or store.repo_root()
    with store.store_errors():
        if not nested:
            for run_id in mark_dead():
                print(f"note: MLflow run {run_id} was left RUNNING by a process that is gone; marked FAILED",
                      file=sys.stderr)
        return mlflow.start_run(experiment_id=experiment_id, run_name=run_name, nested=nested,
                                parent_run_id=parent_run_id, description=description,
                                tags={**store.run_tags(root, stage), **process_tags(), **(tags or {})})


def end(status):
    """End the active run with `status`: None, or why the store refused (the run then stays RUNNING until
    the next run started on this host marks it FAILED)."""
    active = mlflow.active_run()
    try:
        mlflow.end_run(status)
    except Exception as e:
        error = store.store_error(e)
        if error is None:
            raise
        run_id = active.info.run_id if active else "?"
        return f"run {run_id} could not be marked {status}; the next run started here marks it FAILED"
    return None


@contextlib.contextmanager
def run_status(stopped_by=()):
    """End the active MLflow run FINISHED, KILLED on Ctrl-C or SIGTERM or an exception of `stopped_by` (a pruned
    trial; raised on unchanged), FAILED on any other error; an error of the tracking store (disk full, read-only,
    corrupt) becomes one line, with the run's fate if it cannot end.

    Yields a threading.Event that the first SIGINT or SIGTERM sets, for the training loop to stop at a
    safe point between steps (not inside a tracking-store write); a second signal interrupts at once.
    """
    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
        if stop.is_set():
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        unended = end("KILLED")
        if unended:
            print(f"note: {unended}", file=sys.stderr)
        raise
    except tuple(stopped_by):
        unended = end("KILLED")
        if unended:
            print(f"note: {unended}", file=sys.stderr)
        raise
    except BaseException as e:
        unended = end("FAILED")
        error = store.store_error(e)
        if error is None and not (unended and isinstance(e, NameCNNError)):
            raise
        raise NameCNNError("; ".join(filter(None, (str(error or e), unended)))) from None
    else:
        unended = end("FINISHED")
        if unended:
            raise NameCNNError(f"MLflow tracking store {store.tracking_uri()}: {unended}")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
