"""Training checkpoints: everything a stopped run needs to continue exactly where it was.

One file, ``checkpoint.safetensors`` in the run's checkpoint directory, written atomically
(temporary file, fsync, rename): the weights and optimiser tensors of every module, the
random-number states (torch on the CPU and each CUDA device, the batch-order generator,
numpy, Python), and in the safetensors header a JSON document with the format version, the
library version, the estimator's class and parameters, a fingerprint of the training data,
the epoch and step reached, the loss history, and the optimisers' settings. Nothing is
unpickled on load.
"""

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from sepclr._version import __version__
from sepclr.engine.files import atomic_write
from sepclr.engine.persistence import check_document
from sepclr.errors import CheckpointError

CHECKPOINT_NAME = "checkpoint.safetensors"
FORMAT = "sepclr-checkpoint"
FORMAT_VERSION = 1
_HEADER_KEY = "sepclr"


def data_fingerprint(*tensors: torch.Tensor) -> str:
    """SHA-256 of the shapes and bytes of ``tensors`` (a resumed run must see the same
    data).
    """
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().data)  # no copy of the bytes
    return digest.hexdigest()


@dataclass
class Progress:
    """Where a run stands.

    Parameters
    ----------
    epoch : int
        The epoch in progress (or the next one).
    step : int
        Batches of it done.
    order : Tensor, optional
        The epoch's batch order (when ``step > 0``).
    sums : dict of str to float
        The running sums of its loss terms.
    history : list of dict
        The finished epochs' mean loss terms.
    seconds : float
        The seconds spent training so far, across resumptions.
    """

    epoch: int = 0
    step: int = 0
    order: torch.Tensor | None = None
    sums: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def _optimizer_parts(name: str, optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{name}.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _load_optimizer(
    name: str, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict
) -> None:
    state: dict[int, dict[str, Any]] = {}
    prefix = f"{name}."
    for key, value in tensors.items():
        if key.startswith(prefix):
            index, entry = key[len(prefix) :].split(".", 1)
            state.setdefault(int(index), {})[entry] = value
    for index, entries in meta["scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    groups = [
        {k: tuple(v) if k == "betas" else v for k, v in group.items()}
        for group in meta["param_groups"]
    ]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


class Checkpointer:
    """Writes and reads the checkpoint of one run.

    ``identity`` (estimator class, parameters, data fingerprint) is stored and must match on
    resume; ``every`` is the number of epochs between checkpoints (one is always written
    after the last epoch and when a stop is requested).

    Parameters
    ----------
    directory : str or Path
        The checkpoint folder.
    identity : dict
        What the run is.
    every : int
        Epochs between checkpoints.
    """

    def __init__(self, directory: str | Path, identity: dict[str, Any], every: int = 1) -> None:
        self.directory = Path(directory)
        self.path = self.directory / CHECKPOINT_NAME
        self.identity = json.loads(json.dumps(identity))
        self.every = every

    def exists(self) -> bool:
        """Whether the checkpoint file is there."""
        return self.path.is_file()

    def save(
        self,
        modules: dict[str, nn.Module],
        optimizers: dict[str, torch.optim.Optimizer],
        generator: torch.Generator,
        progress: Progress,
    ) -> Path:
        """Write the checkpoint for ``progress`` (atomically)."""
        tensors: dict[str, torch.Tensor] = {}
        for name, module in modules.items():
            tensors |= {f"{name}.{k}": v for k, v in module.state_dict().items()}
        optimizer_meta = {}
        for name, optimizer in optimizers.items():
            parts, optimizer_meta[name] = _optimizer_parts(f"optimizer:{name}", optimizer)
            tensors |= parts
        tensors["rng:torch"] = torch.get_rng_state()
        tensors["rng:generator"] = generator.get_state()
        if torch.cuda.is_available():
            for index, rng in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f"rng:cuda:{index}"] = rng
        if progress.order is not None:
            tensors["progress:order"] = progress.order
        numpy_state: Any = np.random.get_state()
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "library_version": __version__,
            **self.identity,
            "epoch": progress.epoch,
            "step": progress.step,
            "sums": progress.sums,
            "history": progress.history,
            "seconds": progress.seconds,
            "optimizers": optimizer_meta,
            "rng": {
                "python": _jsonable(random.getstate()),
                "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
            },
        }
        contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        header = {_HEADER_KEY: json.dumps(document)}
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, lambda p: save_file(contiguous, p, metadata=header))
        return self.path

    def read(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """The checkpoint's document and tensors, checked against this run's identity."""
        if not self.exists():
            raise CheckpointError(f"no checkpoint to resume from: {self.path} does not exist")
        try:
            with safe_open(str(self.path), framework="pt") as handle:
                header = handle.metadata() or {}
                tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
            document = json.loads(header[_HEADER_KEY])
        except (SafetensorError, OSError, ValueError, KeyError) as exc:
            raise CheckpointError(
                f"{self.path} is not a readable sepclr checkpoint ({exc}); delete it to start over"
            ) from exc
        check_document(document, FORMAT, FORMAT_VERSION, self.path)
        problem = _state_problem(document)
        if problem:
            raise CheckpointError(
                f"{self.path} holds an invalid training state ({problem}); it was not written "
                "by this sepclr, or was edited: delete it to start over"
            )
        for key, expected in self.identity.items():
            found = document.get(key)
            if found != expected:
                raise CheckpointError(
                    f"{self.path} belongs to another run: its {key} {_differences(found, expected)}"
                )
        return document, tensors

    def restore(
        self,
        modules: dict[str, nn.Module],
        optimizers: dict[str, torch.optim.Optimizer],
        generator: torch.Generator,
        checkpoint: tuple[dict[str, Any], dict[str, torch.Tensor]] | None = None,
    ) -> Progress:
        """Load weights, optimiser states and random states; return the progress reached.
        ``checkpoint`` is what :meth:`read` returned, if the caller has read it already.
        """
        document, tensors = checkpoint if checkpoint is not None else self.read()
        try:
            for name, module in modules.items():
                prefix = f"{name}."
                state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
                module.load_state_dict(state, strict=True)
            for name, optimizer in optimizers.items():
                if name in document["optimizers"]:
                    meta = document["optimizers"][name]
                    _load_optimizer(f"optimizer:{name}", optimizer, tensors, meta)
            torch.set_rng_state(tensors["rng:torch"])
            generator.set_state(tensors["rng:generator"])
            if torch.cuda.is_available():
                for index in range(torch.cuda.device_count()):
                    if f"rng:cuda:{index}" in tensors:
                        torch.cuda.set_rng_state(tensors[f"rng:cuda:{index}"], index)
            random.setstate(_tupled(document["rng"]["python"]))
            kind, keys, *rest = document["rng"]["numpy"]
            np.random.set_state((kind, np.array(keys, dtype=np.uint32), *rest))
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(
                f"{self.path} does not match this model's architecture ({exc})"
            ) from exc
        return Progress(
            epoch=int(document["epoch"]),
            step=int(document["step"]),
            order=tensors.get("progress:order"),
            sums={k: float(v) for k, v in document["sums"].items()},
            history=document["history"],
            seconds=float(document.get("seconds", 0.0)),
        )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def _is_terms(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and _is_number(v) for k, v in value.items()
    )


def _state_problem(document: dict[str, Any]) -> str:
    """What is wrong with the training state of a checkpoint's document ('' if nothing)."""
    rng = document.get("rng")
    checks = {
        "epoch": _is_count(document.get("epoch")),
        "step": _is_count(document.get("step")),
        "sums": _is_terms(document.get("sums")),
        "history": isinstance(document.get("history"), list)
        and all(_is_terms(h) for h in document["history"]),
        "seconds": _is_number(document.get("seconds", 0.0)) and document.get("seconds", 0) >= 0,
        "optimizers": isinstance(document.get("optimizers"), dict)
        and all(
            isinstance(m, dict)
            and isinstance(m.get("param_groups"), list)
            and isinstance(m.get("scalars"), dict)
            for m in document["optimizers"].values()
        ),
        "rng": isinstance(rng, dict)
        and isinstance(rng.get("python"), list)
        and isinstance(rng.get("numpy"), list)
        and len(rng["numpy"]) == 5,
    }
    bad = [key for key, good in checks.items() if not good]
    return ", ".join(f"{key} {document.get(key)!r:.60}" for key in bad)


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, tuple | list) else value


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def _differences(found: Any, expected: Any) -> str:
    if isinstance(found, dict) and isinstance(expected, dict):
        changed = sorted(
            k for k in expected.keys() | found.keys() if found.get(k) != expected.get(k)
        )
        shown = ", ".join(f"{k}={found.get(k)!r} (now {expected.get(k)!r})" for k in changed)
        return f"differ: {shown}"
    return f"is {found!r}, this run's is {expected!r}"
