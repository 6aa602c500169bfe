"""`monitor --help`, every command's `--help`, `--version` and completion load no heavy library
(start-up time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from service_support import ROOT

from monitor.cli.main import COMMANDS

HEAVY = (
    "sqlalchemy",
    "pydantic",
    "rich",
    "httpx",
    "bs4",
    "lxml",
    "trafilatura",
    "jinja2",
    "warcio",
)


def modules_loaded_by(*args: str, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """Run `python -m monitor ARGS` and report its output and the top-level modules it loaded.

    The stand-in that `monitor` puts in place of httpx's command line (`httpx._main`) is
    not httpx.
    """
    code = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: sys.__stderr__.write('\\nMODULES ' + json.dumps("
        "sorted({m.split('.')[0] for m in sys.modules if m != 'httpx._main'})) + '\\n'))\n"
        "from monitor.cli.main import main\n"
        f"main({list(args)!r}, prog_name='monitor')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=60,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    return done.stdout, set(json.loads(line.removeprefix("MODULES ")))


@pytest.mark.parametrize(
    ("args", "env", "shown"),
    [
        (["--help"], None, "check"),
        (["--version"], None, "version 0.1.0"),
        ([], {"_MONITOR_COMPLETE": "bash_source"}, "_monitor_completion"),
    ],
)
def test_help_version_and_completion_load_only_click(args, env, shown):
    out, loaded = modules_loaded_by(*args, env=env)
    assert shown in out
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_commands_help_loads_no_heavy_library(command):
    out, loaded = modules_loaded_by(command, "--help")
    assert f"Usage: monitor {command}" in out
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_lists_every_command_with_its_own_help():
    out, _loaded = modules_loaded_by("--help")
    for name in ("check", "run", "outbox", "notify", "report", "show", "diff", "history"):
        assert f"  {name} " in out
    out, loaded = modules_loaded_by("check", "--help")
    assert "--config" in out and "Exit status" in out


def fresh_python(code: str) -> str:
    """What `code` prints, run by a new interpreter in the checkout (nothing imported yet)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    ).stdout


# What `monitor check` needs before its first request; the extractor (lxml, BeautifulSoup,
# trafilatura, htmldate), the feed parser and the archive's WARC library load only when a
# page changed, a feed is read or a version is archived; rich (and pygments, which httpx's
# own command line would pull in) only to print for people; charset_normalizer only for a
# page no charset label describes.
LOADED_WHEN_NEEDED = (
    *("bs4", "lxml", "trafilatura", "htmldate", "feedparser", "warcio", "regex"),
    *("rich", "pygments", "charset_normalizer"),
)


def test_the_check_machinery_loads_no_extractor_feed_parser_or_archive_library():
    code = (
        "import json, sys\n"
        "import monitor.check.pipeline, monitor.cli.shards, monitor.cli.commands\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = set(json.loads(fresh_python(code)))
    tops = {name.split(".")[0] for name in loaded}
    assert not tops & set(LOADED_WHEN_NEEDED), sorted(tops & set(LOADED_WHEN_NEEDED))
    assert "monitor.extract.article" not in loaded
    assert not {name for name in loaded if name.startswith("monitor.archive")}


@pytest.mark.parametrize(("tls", "anyio"), [(False, "False"), (True, "True")])
def test_preparing_shards_loads_anyio_only_when_they_may_fetch_https(tls, anyio):
    # Plain GETs take our own transport; only HTTP/2 (over HTTPS) and proxies use
    # httpcore's locks, which load anyio's asyncio backend: 18 ms of the start-up the
    # shards wait for.
    code = (
        "import sys\n"
        "from monitor.fetch.client import prepare_for_fork\n"
        f"prepare_for_fork(tls={tls})\n"
        "print('anyio._backends._asyncio' in sys.modules, 'uvloop' in sys.modules)\n"
    )
    assert fresh_python(code).split() == [anyio, "True"]


def test_the_extractor_loads_beautifulsoup_only_for_selectors_and_its_fallback():
    code = (
        "import sys\n"
        "sys.path.insert(0, 'tests')\n"
        "from pages import PARTNERSHIP, press_release\n"
        "from monitor.extract.article import extract_statement\n"
        "page = press_release('Joint statement', PARTNERSHIP)\n"
        "extract_statement(page, 'https://example.org/s')\n"
        "print('bs4' in sys.modules)\n"
        "extract_statement(page, 'https://example.org/s', selector='article')\n"
        "print('bs4' in sys.modules)\n"
    )
    assert fresh_python(code).split() == ["False", "True"]


def check_in_fresh_python(config: str, state: str) -> dict[str, int | bool]:
    """Run `monitor check` in a new interpreter; what its garbage collector did and is."""
    code = (
        "import gc, json\n"
        "from monitor.cli.main import main\n"
        "runs = []\n"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and runs.append(1))\n"
        "try:\n"
        f"    main(['check', '--config', {config!r}, '--state', {state!r}], prog_name='monitor')\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "print(json.dumps({'exit': code, 'collections': len(runs), 'enabled': gc.isenabled(),"
        " 'frozen': gc.get_freeze_count()}))\n"
    )
    return dict(json.loads(fresh_python(code).splitlines()[-1]))


def test_a_check_starts_up_without_collecting_garbage_and_leaves_the_collector_on(tmp_path):
    # A source on a closed loopback port: the check runs to its end (exit 1).
    config = tmp_path / "sources.toml"
    config.write_text('[[sources]]\nname = "closed"\nurl = "http://127.0.0.1:9/statement"\n')
    done = check_in_fresh_python(str(config), str(tmp_path / "state"))
    assert done["exit"] == 1
    # The collector ran during the run, not during start-up (which alone ran it about 240
    # times with the collector on) ...
    assert int(done["collections"]) < 100, done
    assert done["enabled"] is True
    # ... and never scans what start-up made (the imports, the configuration): frozen.
    assert int(done["frozen"]) > 50_000
    # A refused configuration ends the start-up early: the collector is back on all the same.
    config.write_text("[[sources]]\nname = \n")
    refused = check_in_fresh_python(str(config), str(tmp_path / "state"))
    assert refused["exit"] == 2
    assert refused["enabled"] is True


def test_the_daemon_runs_with_what_its_start_up_made_frozen(tmp_path):
    # Its collections then skip the imported modules and the configuration: a full one of
    # them held the event loop for about 60 ms. The service itself is not started here.
    config = tmp_path / "sources.toml"
    config.write_text('[[sources]]\nname = "closed"\nurl = "http://127.0.0.1:9/statement"\n')
    code = (
        "import gc, json\n"
        "import monitor.daemon.service as service\n"
        "from monitor.cli.main import main\n"
        "def started(run):\n"
        "    run.close()\n"
        "    print(json.dumps({'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count()}))\n"
        "    return 0\n"
        "service.asyncio.run = started\n"
        "try:\n"
        f"    main(['run', '--config', {str(config)!r}, '--state', {str(tmp_path / 'state')!r},"
        " '--listen', '127.0.0.1:0', '--workers', '0'], prog_name='monitor')\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    done = json.loads(fresh_python(code).splitlines()[-1])
    assert done["enabled"] is True
    assert done["frozen"] > 50_000
