"""The one exception type for bad input: the CLI prints its message as one line and exits 1."""

from __future__ import annotations


class InputError(ValueError):
    """A file or value that a stage cannot use; the message names the file and the problem."""
