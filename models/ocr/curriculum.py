"""The OCR training curriculum: clean crops first, the hard street-view crops mixed in once the net reads.

From scratch on the street-view crops alone, CTC stays on its all-blank plateau (every column says
blank: loss ~3.5, nothing read) for longer than the time budget. Clean crops (the rendered plate on a
plain margin, `make_crop(clean=True)`) leave that plateau within a few hundred steps, because every
character sits where the previous plate's did. The curriculum therefore trains on clean crops only
until the net reads them (the mean loss of the last steps falls below `clean_loss`, or after
`max_clean_steps` at the latest), then raises the share of hard crops linearly over `ramp_steps`
to `1 - clean_floor`; a few clean crops stay in every batch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Curriculum:
    """Share of each batch taken from hard crops, by step and recent training loss."""

    clean_loss: float = 1.0
    """Mean training loss on clean crops at which the hard crops start coming in."""
    max_clean_steps: int = 1500
    """Start the ramp after this many steps even if the loss has not fallen (never wait forever)."""
    ramp_steps: int = 300
    """Steps over which the hard share rises from 0 to its final value."""
    clean_floor: float = 0.05
    """Share of clean crops left in every batch after the ramp."""
    ramp_start: int | None = None
    """The step at which the ramp started (None while still on clean crops only)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.clean_floor < 1.0:
            raise ValueError(f"clean_floor must be in [0, 1), not {self.clean_floor}")
        if self.ramp_steps < 1 or self.max_clean_steps < 0:
            raise ValueError(f"need ramp_steps >= 1, max_clean_steps >= 0: {self.ramp_steps}, {self.max_clean_steps}")

    def hard_share(self, step: int, recent_loss: float) -> float:
        """Share of hard crops in the batch of `step` (0-based), given the mean loss of the last steps."""
        if self.ramp_start is None:
            if recent_loss >= self.clean_loss and step < self.max_clean_steps:
                return 0.0
            self.ramp_start = step
        return (1.0 - self.clean_floor) * min(1.0, (step - self.ramp_start + 1) / self.ramp_steps)

    def split(self, step: int, recent_loss: float, batch_size: int) -> tuple[int, int]:
        """(clean crops, hard crops) in the batch of `step`; they add up to `batch_size`."""
        hard = round(batch_size * self.hard_share(step, recent_loss))
        return batch_size - hard, hard
