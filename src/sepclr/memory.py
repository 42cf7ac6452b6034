"""How much memory a device has free, and the refusal of what would not fit in it, made
before anything is allocated."""

import os

import torch

from sepclr.errors import InvalidInputError


def free_bytes(device: torch.device | None = None) -> int:
    """The memory free for new allocations."""
    if device is not None and device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def readable_bytes(count: float) -> str:
    """``count`` bytes in a unit a reader takes in at once.

    Examples
    --------
    >>> readable_bytes(2.4e9), readable_bytes(512)
    ('2.4 GB', '512 B')
    """
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if count < 1000 or unit == "PB":
            return f"{count:.3g} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1000
    raise AssertionError("unreachable")


def check_fits(needed: float, what: str, fix: str, device: torch.device | None = None) -> None:
    """Refuse, in one line, an allocation larger than the free memory."""
    free = free_bytes(device)
    if needed > free:
        where = "on " + str(device) if device is not None and device.type == "cuda" else "here"
        raise InvalidInputError(
            f"{what} needs about {readable_bytes(needed)}, more than the "
            f"{readable_bytes(free)} of memory free {where}; {fix}"
        )
