"""The journal actor."""
