"""Keep freed memory in the process: a training step frees and reallocates the same large arrays,
and glibc's defaults hand them back to the kernel each time, costing page faults on every step."""
import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory(mmap_threshold=64 << 20, trim_threshold=256 << 20):
    """Serve arrays below 64 MiB from the heap and keep up to 256 MiB freed; a no-op off glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))
