"""`monitor report --out DIR`: the review pages as static files that open from disk."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import pytest
from click.testing import CliRunner, Result
from ui_support import IMG, QUOTES, SCRIPT, UiState, loopback, ui_state  # noqa: F401

from monitor.cli.main import main
from monitor.review.app import stylesheet


class Links(HTMLParser):
    """The tags and the href/src/action values of one page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.targets: list[tuple[str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("href", "src", "action") and value is not None:
                self.targets.append((tag, value))


def report(state: UiState, out: Path, *extra: str) -> Result:
    args = ["report", "--out", str(out), "--state", str(state.state_dir)]
    return CliRunner().invoke(main, [*args, "--config", str(state.config_path), *extra])


@pytest.fixture(scope="module")
def exported(ui_state: UiState, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    out = tmp_path_factory.mktemp("export") / "report"
    result = report(ui_state, out)
    assert result.exit_code == 0, result.output
    assert "wrote 10 pages (3 diffs)" in result.output
    return out


def test_export_writes_every_page_as_a_file(exported: Path) -> None:
    names = sorted(str(p.relative_to(exported)) for p in exported.rglob("*") if p.is_file())
    assert "index.html" in names and "events.html" in names and "feed.xml" in names
    assert sorted(n for n in names if n.startswith("sources/")) == [
        "sources/broken.html",
        "sources/corp.html",
        "sources/hostile.html",
    ]
    assert len([n for n in names if n.startswith("statements/")]) == 2
    diffs = sorted(n for n in names if n.startswith("diffs/"))
    assert len(diffs) == 3  # one per change: corp 1→2, 2→3, hostile 1→2
    assert any(n.endswith("-v2-v3.html") for n in diffs)
    assert (exported / "style.css").read_bytes() == stylesheet()[0]


def test_every_link_is_relative_and_resolves(exported: Path) -> None:
    for page in exported.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        links = Links(html)
        assert "form" not in links.tags and "script" not in links.tags, page
        assert "default-src 'none'" in html.replace("&#39;", "'")
        for _tag, target in links.targets:
            parts = urlsplit(target)
            if parts.scheme in ("http", "https") or target.startswith("#"):
                continue  # the statements' own pages, the diff views
            assert not parts.scheme and not target.startswith("/"), (page, target)
            resolved = (page.parent / unquote(parts.path)).resolve()
            assert resolved.is_file(), f"{page.relative_to(exported)} links to missing {target}"
            assert exported.resolve() in resolved.parents


def test_exported_pages_are_the_ui_pages(exported: Path) -> None:
    index = (exported / "index.html").read_text(encoding="utf-8")
    assert "failing (3 checks in a row)" in index
    assert "static export" in index
    diff = next(exported.glob("diffs/*-v2-v3.html")).read_text(encoding="utf-8")
    assert diff.count("<del>spring</del>") == 2 and diff.count("<ins>autumn</ins>") == 2
    assert 'href="#diff-side"' in diff
    assert 'href="../style.css"' in diff
    for page in exported.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert SCRIPT not in html and IMG not in html and QUOTES not in html


def test_exported_feed_parses(exported: Path) -> None:
    feed = feedparser.parse((exported / "feed.xml").read_bytes())
    assert not feed.bozo
    assert len(feed.entries) == 3
    assert all("diffs/" in entry.link for entry in feed.entries)


def test_since_limits_the_changes(ui_state: UiState, tmp_path: Path) -> None:  # noqa: F811
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).date().isoformat()
    result = report(ui_state, tmp_path / "out", "--since", tomorrow)
    assert result.exit_code == 0, result.output
    assert "(0 diffs)" in result.output
    assert not list((tmp_path / "out" / "diffs").iterdir())
    statement = next((tmp_path / "out" / "statements").glob("*.html")).read_text("utf-8")
    assert "diffs/" not in statement  # no link to a diff that was not written
    assert "No statement has changed yet." in (tmp_path / "out" / "index.html").read_text()


def test_export_needs_no_configuration(
    ui_state: UiState,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # no sources.toml here: the state's sources are listed
    args = ["report", "--out", "out", "--state", str(ui_state.state_dir)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "sources" / "corp.html").is_file()


def test_export_refuses_a_missing_state_or_a_broken_config(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["report", "--out", str(tmp_path / "o"), "--state", str(tmp_path / "none")]
    )
    assert result.exit_code == 2
    assert "no state in" in result.output
    assert not (tmp_path / "none").exists()  # not created by the attempt
    broken = tmp_path / "bad.toml"
    broken.write_text("[[sources]]\nname = 3\n")
    result = CliRunner().invoke(
        main, ["report", "--out", str(tmp_path / "o"), "--config", str(broken)]
    )
    assert result.exit_code == 2
    assert "bad.toml" in result.output


def test_export_never_writes_through_a_symlink_in_the_folder(
    ui_state: UiState,  # noqa: F811
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "report"
    out.mkdir()
    # Links a user (or another account sharing the folder) left in DIR.
    for name in ("index.html", "feed.xml", "style.css"):
        (out / name).symlink_to(victim)
    (out / "sources").symlink_to(elsewhere, target_is_directory=True)

    result = report(ui_state, out)

    assert result.exit_code == 0, result.output
    assert victim.read_text(encoding="utf-8") == "precious"
    assert list(elsewhere.iterdir()) == []
    for name in ("index.html", "feed.xml", "style.css", "sources"):
        assert not (out / name).is_symlink(), name
    assert (out / "sources" / "corp.html").is_file()
    assert not [p for p in out.rglob("*.tmp")]
