"""The library's own exceptions: every error a user can cause derives from `SepCLRError`."""


class SepCLRError(Exception):
    """Base class of every error sepclr raises on purpose."""


class InvalidInputError(SepCLRError, ValueError):
    """An argument or an array given to the library is unusable (shape, values, option name)."""


class DataNotFoundError(SepCLRError, FileNotFoundError):
    """A dataset's files were not found in any of the places searched."""


class CorruptFileError(SepCLRError, ValueError):
    """A file exists but its content does not follow its format."""


class CheckpointError(SepCLRError, ValueError):
    """A saved model cannot be loaded (missing files, other version, other architecture)."""


class NotFittedError(SepCLRError, RuntimeError):
    """A method that needs a fitted model was called before `fit`."""


class TrainingDivergedError(SepCLRError, FloatingPointError):
    """The training loss became NaN or infinite; the message names the term."""


class TrainingInterruptedError(SepCLRError):
    """SIGINT or SIGTERM stopped training after a step; the message says where the
    checkpoint is and how to continue from it.

    Parameters
    ----------
    stopped : str
        When training stopped and where the checkpoint is.
    resume_hint : str
        How to continue from the checkpoint, in the caller's terms (Python or command line).
    """

    def __init__(self, stopped: str, resume_hint: str = "") -> None:
        self.stopped, self.resume_hint = stopped, resume_hint
        super().__init__(f"{stopped}; {resume_hint}" if resume_hint else stopped)


class StorageError(SepCLRError, OSError):
    """A file or folder could not be written (no space left, no permission, a file where a
    folder should be); what was there before is unchanged."""


class FolderInUseError(SepCLRError):
    """Another process holds the run folder (a ``fit``, ``select`` or ``evaluate`` of it is
    running); the message names that process."""


class SepCLRWarning(UserWarning):
    """Input or training that works but is probably not what was meant (images outside
    [0, 1], a loss that grows by orders of magnitude, ...)."""
