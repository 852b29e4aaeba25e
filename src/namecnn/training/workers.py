"""Independent trainings in parallel processes, one BLAS thread each, as many as the machine has cores."""
import concurrent.futures
import multiprocessing
import os
import signal

from threadpoolctl import threadpool_limits

from .memory import keep_freed_memory


def cores():
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def resolve_jobs(jobs):
    """A `jobs` parameter: 0 means one process per core."""
    return cores() if jobs == 0 else jobs


def one_thread():
    """One BLAS thread (the processes share the cores), freed memory kept for the next step."""
    threadpool_limits(1)
    keep_freed_memory()


class Interrupted:
    """What a worker returns for a task that Ctrl-C or SIGTERM stopped (or that came after one)."""


_stopped = False


def _ignore_signals():
    """Between tasks a worker ignores Ctrl-C and SIGTERM: an idle process prints no traceback."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def _start_worker():
    _ignore_signals()
    one_thread()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _call(fn, task):
    """fn(task) in a worker. A signal stops it: inside training, runs.run_status stops between steps and
    ends the MLflow run KILLED; before or after, at once. Returns Interrupted then, and for every later task."""
    global _stopped
    if _stopped:
        return Interrupted()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    try:
        return fn(task)
    except KeyboardInterrupt:
        _stopped = True
        return Interrupted()
    finally:
        _ignore_signals()


def run_all(fn, tasks, jobs):
    """[fn(task) for task in tasks], in order, computed by `jobs` spawned processes (here when jobs is 1).

    fn must be importable (a module-level function of the package). Ctrl-C reaches the workers through the
    terminal's process group; SIGTERM sent to this process alone is passed on to them. Either way each running
    task ends its MLflow run KILLED, no further task starts, and KeyboardInterrupt is raised here once they
    have. A task's exception stops the others the same way and is raised here.
    """
    jobs = max(1, min(jobs, len(tasks)))
    if jobs == 1:
        one_thread()
        return [fn(task) for task in tasks]
    told = []

    def on_term(signum, frame):
        told.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                                    initializer=_start_worker) as pool:
            futures = [pool.submit(_call, fn, task) for task in tasks]
            try:
                results = [f.result() for f in futures]
            except BaseException as e:
                stop(futures, tell=bool(told) or not isinstance(e, KeyboardInterrupt))
                raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if any(isinstance(r, Interrupted) for r in results):
        raise KeyboardInterrupt
    return results


def stop(futures, tell):
    """Cancel the tasks not started; SIGTERM the workers unless Ctrl-C reached them already; wait for the
    running tasks to end their runs. A task that a worker took up after the signal is stopped the same way."""
    for f in futures:
        f.cancel()
    if tell:
        signal_workers()
    _, running = concurrent.futures.wait(futures, timeout=30)
    if running:
        signal_workers()
        concurrent.futures.wait(running, timeout=120)


def signal_workers():
    for proc in multiprocessing.active_children():
        os.kill(proc.pid, signal.SIGTERM)
