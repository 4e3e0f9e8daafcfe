"""The execution actor."""
