"""Errors of the journal's storage, named for what happened."""

# The conventions name errors for what happened (JournalChainBroken), not with an Error suffix.

from __future__ import annotations


class JournalError(Exception):
    """Base of the journal's errors."""


class InvalidJournalValue(JournalError, ValueError):
    """An event name or field value cannot be journaled (NaN/Inf, unsupported type, bad name)."""


class MalformedEntry(JournalError, ValueError):
    """A journal line does not have the entry format; the message names the offending part."""


class JournalLocked(JournalError):
    """Another writer holds the journal's lock; two writers would fork the chain."""


class JournalNotOpen(JournalError):
    """The writer was used before ``open()`` or after ``close()``."""


class JournalCorrupted(JournalError):
    """More bad lines at the tail than a crash can leave; a person must look before writing."""


class JournalChainBroken(JournalError):
    """Verification found a broken link; the message names the first break (file:line)."""
