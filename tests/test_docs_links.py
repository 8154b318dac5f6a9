"""Every link in the README and the other docs resolves inside a fresh clone.

A relative link must name a file or folder of the repository (never above it) and, with an
`#anchor`, a heading of that file; an anchor alone must be a heading of the same file. No link
leaves the repository (no http(s), no `../shared/...`): the README is read in clones and
packages where nothing beside the repository exists.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<target>[^)\s]+)\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(?P<target>\S+)", re.M)
HREF = re.compile(r"<a\s[^>]*href=\"(?P<target>[^\"]+)\"", re.I)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def doc_files() -> list[Path]:
    """The markdown files of the repository (tracked, or new in this working tree)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(REPO / name for name in listed if (REPO / name).is_file())


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M):
        base, n = slug(heading), 1
        name = base
        while name in found:  # repeated headings get -1, -2, ...
            name, n = f"{base}-{n}", n + 1
        found.add(name)
    return found


def links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are not links
    return [m.group("target") for pattern in (LINK, IMAGE, REFERENCE, HREF) for m in pattern.finditer(text)]


def problem(path: Path, target: str) -> str | None:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
        return f"{target} leaves the repository"
    file_part, _, anchor = target.partition("#")
    if file_part:
        resolved = (path.parent / file_part).resolve()
        if REPO.resolve() not in (resolved, *resolved.parents):
            return f"{target} points outside the repository"
        if not resolved.exists():
            return f"{target}: no such file in the repository"
    else:
        resolved = path
    if anchor:
        if not resolved.is_file() or resolved.suffix != ".md":
            return f"{target}: an anchor into a file that is not markdown"
        if anchor not in anchors(resolved):
            return f"{target}: no heading #{anchor} in {resolved.relative_to(REPO)}"
    return None


def test_the_docs_are_found() -> None:
    names = {p.relative_to(REPO).as_posix() for p in doc_files()}
    assert "README.md" in names and "bench/README.md" in names
    assert len(links(REPO / "README.md")) >= 5  # the README's own section links are followed


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_link_resolves_inside_the_repository(path: Path) -> None:
    broken = [f"{path.relative_to(REPO)}: {p}" for t in links(path) if (p := problem(path, t))]
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("https://dagster.io", "leaves the repository"),
        ("../shared/CONTRACT.md", "outside the repository"),
        ("#no-such-heading", "no heading"),
        ("bench/missing.md", "no such file"),
        ("#the-engagement-model", None),
        ("bench/README.md", None),
    ],
)
def test_the_link_rules_catch_what_a_clone_would_lack(target: str, expected: str | None) -> None:
    found = problem(REPO / "README.md", target)
    assert (found is None) if expected is None else (expected in (found or "")), found
