"""Independent trainings in parallel processes, one BLAS thread each, as many as the machine has cores."""
import multiprocessing
import os
import signal


def cores():
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def resolve_jobs(jobs):
    """A `jobs` parameter: 0 means one process per core."""
    return cores() if jobs == 0 else jobs


def one_thread():
    """Worker set-up: one BLAS thread (the processes share the cores), freed memory kept for the next step."""
    from threadpoolctl import threadpool_limits

    from .memory import keep_freed_memory

    threadpool_limits(1)
    keep_freed_memory()


def run_all(fn, tasks, jobs):
    """[fn(task) for task in tasks], in order, computed by `jobs` spawned processes (here when jobs is 1).

    fn must be importable (a module-level function of the package). Ctrl-C reaches the workers through the
    terminal's process group; SIGTERM sent to this process alone is passed on to them; either way each
    worker ends its MLflow run KILLED (tracking.run_status) and KeyboardInterrupt is raised here.
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
    pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=one_thread)
    try:
        results = pool.map(fn, tasks, chunksize=1)
        pool.close()
        return results
    except BaseException as e:
        stop_workers(tell=told or not isinstance(e, KeyboardInterrupt))   # Ctrl-C reached them already
        raise
    finally:
        pool.terminate()
        pool.join()
        signal.signal(signal.SIGTERM, previous)


def stop_workers(tell, timeout=60):
    """Ask every worker to stop (SIGTERM: it ends its MLflow run KILLED) and wait for it."""
    children = multiprocessing.active_children()
    for proc in children if tell else ():
        os.kill(proc.pid, signal.SIGTERM)
    for proc in children:
        proc.join(timeout=timeout)
