"""Tests of the journal's storage: hash chain, writer, torn lines, verification."""
