"""Signals between apps that must not import each other (a lower app announces, a higher one
listens)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by services that write agencies or administrative units in bulk (``bulk_create`` and
# ``bulk_update`` send no model signals), inside their transaction, with ``using``.
# ``feedback.reference`` listens (its per-process snapshot holds such rows), and
# ``feedback.public_cache`` (the public list shows the wards' names).
bulk_reference_write = Signal()
