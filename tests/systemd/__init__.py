"""Real-systemd harness and tests: boots systemd 252 in an nspawn container (see README.md)."""
