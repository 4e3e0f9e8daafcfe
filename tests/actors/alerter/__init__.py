"""Tests of the alerter: policy table, templates, coalescing, outbox, and delivery to Telegram."""
