"""A dependency-free text progress bar for training (stage, done, total callbacks)."""

from __future__ import annotations

from typing import TextIO


class ProgressBar:
    """Draws `stage [#####.....] done/total` on one line per stage; usable as a `Progress` callback."""

    def __init__(self, out: TextIO, *, width: int = 30) -> None:
        self._out = out
        self._width = width
        self._stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Redraw the bar for `stage`; end the line when the stage completes."""
        if stage != self._stage and self._stage is not None:
            self._out.write("\n")
        self._stage = stage
        filled = self._width * done // max(total, 1)
        bar = "#" * filled + "." * (self._width - filled)
        self._out.write(f"\r{stage:<18} [{bar}] {done}/{total}")
        if done >= total:
            self._out.write("\n")
            self._stage = None
        self._out.flush()
