"""Crash-recovery drills against a running tree, and the invariants they (and chaos tests) check."""
