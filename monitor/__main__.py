"""`python -m monitor`: the same as the `monitor` command."""

from monitor.cli.main import main

main(prog_name="monitor")
