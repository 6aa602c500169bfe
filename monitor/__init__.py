"""statement monitor: watch announcement pages and alert when a statement is edited or published."""

import sys
import types

__version__ = "0.1.0"

# httpx imports its command-line tool whenever rich and pygments are installed, and they are
# here (our own output to people uses rich): 30 ms at every start, for a tool this process
# never runs. A stand-in for that one module keeps `import httpx` to httpx itself; our own
# rich output still loads rich where it prints.
if "httpx" not in sys.modules:
    _cli = types.ModuleType("httpx._main", "httpx's command line, not loaded by statement monitor")

    def _no_cli() -> None:
        raise SystemExit("run httpx's command line on its own: python -m httpx")

    _cli.main = _no_cli  # type: ignore[attr-defined]
    sys.modules.setdefault("httpx._main", _cli)
