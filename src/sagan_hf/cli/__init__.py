"""The `sagan-hf` command line: `main.py` dispatches to one module per sub-command."""
