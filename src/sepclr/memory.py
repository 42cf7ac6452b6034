"""How much memory a device has free, and the refusal of what would not fit in it, made
before anything is allocated."""

import os

import torch

from sepclr.errors import InvalidInputError


def free_bytes(device: torch.device | None = None) -> int:
    """The memory free for new allocations.

    Parameters
    ----------
    device : torch.device, optional
        A CUDA device, or the host (None or a CPU device).

    Returns
    -------
    int
        Bytes: the CUDA device's free memory, or the host's available memory (its
        ``MemAvailable`` on Linux, else its physical memory).
    """
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

    Parameters
    ----------
    count : float
        Bytes.

    Returns
    -------
    str
        The amount, e.g. ``"2.4 GB"``.

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
    """Refuse, in one line, an allocation larger than the free memory.

    Parameters
    ----------
    needed : float
        The bytes the allocation needs.
    what : str
        What would be allocated, for the message.
    fix : str
        What the user can change, for the message.
    device : torch.device, optional
        Where it would be allocated (the host by default).

    Raises
    ------
    InvalidInputError
        When ``needed`` is more than the free memory.
    """
    free = free_bytes(device)
    if needed > free:
        where = "on " + str(device) if device is not None and device.type == "cuda" else "here"
        raise InvalidInputError(
            f"{what} needs about {readable_bytes(needed)}, more than the "
            f"{readable_bytes(free)} of memory free {where}; {fix}"
        )
