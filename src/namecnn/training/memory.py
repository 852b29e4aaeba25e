"""Memory: what a network needs and what the machine has (checked before anything is allocated), and freed
memory kept in the process (a training step frees and reallocates the same large arrays, and glibc's defaults
hand them back to the kernel each time, costing page faults on every step)."""
import ctypes
import ctypes.util
import os

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


def available():
    """Bytes of memory available to a new allocation (MemAvailable), or None where that cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def training_bytes(arch, batch, itemsize, eval_rows=4096):
    """(weights, activations): the bytes a training needs at its peak, roughly. The weights are drawn in float64,
    then kept with their gradients and momentum; a training batch keeps each layer's output for the backward
    pass, where a layer above the first adds its input's gradient and one tap's product (twice its input); an
    evaluation batch (train.score's 4096 rows) only passes through."""
    c_in, length_in, n_params, per_row = arch.d, arch.n_len, 0, 0
    for n, k, length in zip(arch.filters, arch.widths, arch.lengths, strict=True):
        n_params += n * c_in * k + n
        per_row += n * length + (2 * length_in * c_in if c_in != arch.d else 0)
        c_in, length_in = n, length
    n_params += arch.dense_in * arch.n_classes + arch.n_classes
    return n_params * (8 + 3 * itemsize), per_row * itemsize * max(4 * batch, 2 * eval_rows)
