"""The alerter actor."""
