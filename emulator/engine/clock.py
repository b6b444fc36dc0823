"""The device clock: real time plus an offset, or frozen at a moment. Times are epoch seconds (float)."""

from __future__ import annotations

import time
from typing import Callable


class Clock:
    def __init__(self, offset: float = 0.0, frozen_at: float | None = None,
                 source: Callable[[], float] = time.time):
        self._source = source
        self.offset = float(offset)
        self.frozen_at = frozen_at

    def now(self) -> float:
        if self.frozen_at is not None:
            return self.frozen_at
        return self._source() + self.offset

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None

    def jump_to(self, t: float) -> None:
        """Moves the clock to t (never backwards in the engine's use), keeping it frozen if it was."""
        if self.frozen_at is not None:
            self.frozen_at = t
        else:
            self.offset = t - self._source()

    def freeze(self) -> None:
        if self.frozen_at is None:
            self.frozen_at = self.now()

    def unfreeze(self) -> None:
        if self.frozen_at is not None:
            self.offset = self.frozen_at - self._source()
            self.frozen_at = None

    def to_dict(self) -> dict:
        return {"offset": self.offset, "frozen_at": self.frozen_at}

    def restore(self, data: dict) -> None:
        self.offset = float(data.get("offset", 0.0))
        self.frozen_at = data.get("frozen_at")
