"""Course tooling: the command-line interface and the exercise runner."""
