"""The breaker actor."""
