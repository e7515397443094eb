"""What goes wrong in consolidation, said so that the secretariat knows what to do."""

from __future__ import annotations


class ConsolidationError(ValueError):
    """A decision or text the system cannot take; the message says why and what to do."""
