"""Packaging: the wheel is built out of tree, carries its data files and an SPDX licence."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from service_support import ROOT


@pytest.mark.slow
def test_building_the_wheel_writes_nothing_into_the_checkout(tmp_path):
    # A copy of what git tracks, as a user's fresh clone (the worktree may hold caches).
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (t.decode() for t in tracked)):
        source = ROOT / name
        if source.is_file():
            target = checkout / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    before = {p.relative_to(checkout) for p in checkout.rglob("*")}

    # No build isolation: the test may not reach a package index (the backend is a test extra).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(checkout),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )

    after = {p.relative_to(checkout) for p in checkout.rglob("*")}
    assert sorted(map(str, after - before)) == []  # no build/, no *.egg-info
    (wheel,) = (tmp_path / "dist").glob("statement_monitor-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(n).decode() for n in names if n.endswith("/METADATA"))
    data_files = {
        str(p.relative_to(checkout))
        for p in (checkout / "monitor").rglob("*")
        if p.is_file() and p.suffix != ".py"
    }
    assert data_files and data_files <= names  # templates, stylesheet, example sources
    # the schema migrations, which an installed copy applies when it opens a database
    assert "monitor/state/migrations/versions/0001_initial.py" in names
    assert "monitor/state/migrations/env.py" in names
    assert "License-Expression: MIT" in metadata


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_the_systemd_unit_scores_under_3_in_systemd_analyze_security():
    unit = ROOT / "contrib" / "statement-monitor.service"
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout + done.stderr)
    assert score is not None, done.stdout + done.stderr
    assert float(score.group(1)) < 3.0
    text = unit.read_text()
    assert "RestartPreventExitStatus=2" in text  # a configuration error is not retried


def test_compose_does_not_restart_a_configuration_error_forever():
    text = (ROOT / "compose.yaml").read_text()
    policy = re.search(r"^\s+restart:\s*(\S+)", text, re.MULTILINE)
    assert policy is not None
    # "always" and "unless-stopped" restart exit 2 without end; on-failure:N gives up
    assert re.fullmatch(r"on-failure:[1-9][0-9]?", policy.group(1))
