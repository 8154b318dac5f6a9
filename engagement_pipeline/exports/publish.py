"""Publishing a day: build the folder aside, verify it, and only then publish it (move it into
place and `latest` forward); clean what a crashed export left.

A day's folder is written under a hidden temporary name, fsynced with its manifest, and checked
by `verify_export_folder` (manifest, checksums, headers, hashing, no clear-text email or phone
number) while nobody can see it. A folder with a problem is removed unpublished
(`ExportRejected`), so the previous day's files and `latest` stay as they were; a sound one is
renamed into place, so a reader never sees half a day. `latest` is a symlink swapped
atomically, and only ever forward. Files carry no timestamps and every list has a total order,
so re-running a day gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import polars as pl

from engagement_pipeline.core.privacy import EMAIL_RE, EMAIL_SCAN, PHONE_RE
from engagement_pipeline.exports.audiences.platforms import FILES as AUDIENCE_FILES
from engagement_pipeline.exports.files import (
    EXACT_HEADERS,
    EXPORT_FILES,
    FILE_KEYS,
    HASHED_COLUMNS,
    LATEST,
    MANIFEST,
    PERSONAL_COLUMNS,
    TEXT_FILES,
    ExportBundle,
    text_of,
)
from engagement_pipeline.exports.privacy import NAME_COLUMNS


def _file_bytes(name: str, frame: pl.DataFrame) -> bytes:
    if name in TEXT_FILES:
        return text_of(frame).encode("utf-8")
    return frame.write_csv(line_terminator="\n", datetime_format="%Y-%m-%dT%H:%M:%S", float_precision=None).encode()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ExportRejected(Exception):
    """The built folder failed verification and was removed unpublished; `problems` says why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def write_export_folder(root: Path, bundle: ExportBundle, model_version: str) -> Path:
    """Build the day's folder aside, verify it, then publish it and move `latest` to it if it is
    the newest day. A folder that fails verification is removed and `ExportRejected` raised:
    nothing of it was ever visible, and the previous folder of the day (if any) stays."""
    staged = stage_export_folder(root, bundle, model_version)
    problems = verify_export_folder(staged)
    if problems:
        shutil.rmtree(staged)
        raise ExportRejected(problems)
    return publish_staged_folder(root, staged, bundle.day)


def stage_export_folder(root: Path, bundle: ExportBundle, model_version: str) -> Path:
    """Write every file and the manifest into a hidden `.DAY.tmp-PID` folder, fsynced; the
    manifest's `rows` is the line count for the markdown file. Nothing is published yet."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    day = bundle.day.isoformat()
    tmp = root / f".{day}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(mode=0o700)
    entries = []
    for name in bundle.names():
        data = _file_bytes(name, bundle.files[name])
        path = tmp / name
        path.write_bytes(data)
        os.chmod(path, 0o600)
        entries.append(
            {
                "name": name,
                "rows": bundle.files[name].height,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    for name, data in sorted(bundle.attachments.items()):
        if "/" in name or name.startswith(".") or name in EXPORT_FILES or name == MANIFEST:
            raise ValueError(f"attachment name {name!r} is not a plain new file name")
        (tmp / name).write_bytes(data)
        os.chmod(tmp / name, 0o600)
        entries.append({"name": name, "rows": None, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {
        "as_of_date": day,
        "model_version": model_version,
        "files": entries,
        "selection": bundle.selection,
        "audiences": bundle.audience_stats,
        "warnings": bundle.warnings,
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.chmod(tmp / MANIFEST, 0o600)
    for path in tmp.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(tmp)
    return tmp


def publish_staged_folder(root: Path, tmp: Path, day_: dt.date) -> Path:
    """Move a verified staged folder into place as `DAY`, atomically, and `latest` forward.

    The folder is renamed to a versioned hidden name and `DAY` (a symlink) swapped to it, so
    readers see the old day or the new one; an existing `DAY` folder of an older version is
    renamed aside first."""
    day = day_.isoformat()
    final = root / day
    # `DAY` is a symlink to a hidden, versioned folder; replacing a symlink is one atomic
    # os.replace, so a crash at any point leaves the previous complete day or the new one.
    version = root / f".{day}.v-{hashlib.sha256((tmp / MANIFEST).read_bytes()).hexdigest()[:16]}"
    if version.exists():
        shutil.rmtree(tmp)  # the same content was exported before: keep that copy
    else:
        tmp.rename(version)
    if final.exists() and not final.is_symlink():  # a folder written by an older version
        final.rename(root / f".{day}.old-{os.getpid()}")
    link = root / f".{day}.link-{os.getpid()}"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(version.name, target_is_directory=True)
    os.replace(link, final)
    _fsync_dir(root)
    for stale in root.glob(f".{day}.v-*"):
        if stale.name != version.name:
            shutil.rmtree(stale)
    _advance_latest(root, day_)
    return final


def _advance_latest(root: Path, day: dt.date) -> None:
    latest = root / LATEST
    if latest.is_symlink():
        try:
            current = dt.date.fromisoformat(os.readlink(latest))
            if current > day and (root / current.isoformat() / MANIFEST).exists():
                return
        except ValueError:
            pass
    elif latest.exists():
        shutil.rmtree(latest)
    link = root / f".latest.tmp-{os.getpid()}"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(day.isoformat(), target_is_directory=True)
    os.replace(link, latest)


def clean_stale_temporaries(root: Path) -> list[str]:
    """Remove what a crashed export left: hidden `.DAY.tmp-*`, `.DAY.old-*`, `.DAY.link-*`
    entries, and versioned `.DAY.v-*` folders that no `DAY` link points at."""
    removed = []
    if root.exists():
        live = {os.readlink(p) for p in root.iterdir() if p.is_symlink() and not p.name.startswith(".")}
        for path in root.iterdir():
            unlinked_version = ".v-" in path.name and path.name not in live
            if path.name.startswith(".") and (
                ".tmp-" in path.name or ".old-" in path.name or ".link-" in path.name or unlinked_version
            ):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path.name)
    return removed


def _identifier(name: str, frame: pl.DataFrame) -> pl.Expr | None:
    """What must be unique in each file (the audiences' own dedupe keys for the platform files)."""
    if name in AUDIENCE_FILES:
        return AUDIENCE_FILES[name].dedupe_key
    if name in FILE_KEYS:
        return FILE_KEYS[name]
    if name == "icp_profile.csv":
        return pl.col("attribute") + pl.lit("\x00") + pl.col("value")
    if "account_id" in frame.columns:
        return pl.col("account_id")
    return None


def _check_csv(name: str, path: Path, rows: object) -> list[str]:
    problems: list[str] = []
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except Exception as exc:  # a tampered or truncated file is a finding, not a crash
        return [f"{name} cannot be read as CSV: {type(exc).__name__}"]
    if frame.height != rows:
        problems.append(f"{name} has {frame.height} rows, manifest says {rows}")
    header = EXACT_HEADERS.get(name)
    if header is not None and tuple(frame.columns) != header:
        problems.append(f"{name} header is {','.join(frame.columns)}, expected {','.join(header)}")
        return problems
    frame = frame.with_columns(pl.col(c).fill_null("") for c in frame.columns)
    for column in HASHED_COLUMNS.get(name, ()):
        values = frame[column].filter(frame[column] != "")
        bad = values.filter(~values.str.contains(r"^[0-9a-f]{64}$")).len()
        if bad:
            problems.append(f"{name}: {bad} values in {column} are not SHA-256 hex (64 lowercase hex digits)")
    hashed = set(HASHED_COLUMNS.get(name, ())) | set(PERSONAL_COLUMNS.get(name, ()))
    for column in (c for c in frame.columns if c not in hashed):
        leaks = frame[column].str.contains(EMAIL_RE).sum()
        if leaks:
            problems.append(f"{name}: {leaks} values in {column} look like clear-text email addresses")
        # Phone numbers are judged in names only: ids, amounts and URLs hold long digit runs too.
        phones = frame[column].str.contains(PHONE_RE).sum() if column in NAME_COLUMNS else 0
        if phones:
            problems.append(f"{name}: {phones} values in {column} hold something that looks like a phone number")
    key = _identifier(name, frame)
    if key is not None and frame.height:
        keys = frame.select(key.alias("_key"))["_key"]
        duplicates = keys.len() - keys.n_unique()
        if duplicates:
            problems.append(f"{name}: {duplicates} duplicate identifiers")
    return problems


def verify_export_folder(folder: Path) -> list[str]:
    """Problems with a written folder, as sentences (empty when it is sound).

    Checks: a readable manifest listing every export file; every listed file present with its
    checksum and row count; no file in the folder the manifest does not list; exact headers
    (platform files as each platform requires, our lists and ICP as declared); hashed columns
    64 lowercase hex; no clear-text email in any unhashed column, the summary or the report; no
    phone number in a name column; no duplicate identifier within a file.
    """
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        entries = list(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{MANIFEST} is missing or unreadable ({type(exc).__name__})"]
    problems: list[str] = []
    listed = [str(entry.get("name")) for entry in entries]
    for name in EXPORT_FILES:
        if name not in listed:
            problems.append(f"{name} is missing from the manifest")
    on_disk = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    for name in on_disk:
        if name != MANIFEST and name not in listed:
            problems.append(f"{name} is in the folder but not listed in the manifest")
    for entry in entries:
        name = str(entry.get("name"))
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is listed in the manifest but missing")
            continue
        if sha256_file(path) != entry.get("sha256"):
            problems.append(f"{name} does not match its manifest checksum")
        if entry.get("rows") is None:  # an attachment: report page or chart
            page = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", "", path.read_bytes().decode("utf-8", "replace"))
            if name.endswith(".html") and EMAIL_SCAN.search(page):
                problems.append(f"{name} contains something that looks like a clear-text email address")
        elif name in TEXT_FILES:
            text = path.read_bytes().decode("utf-8", errors="replace")
            if text.count("\n") != entry.get("rows"):
                problems.append(f"{name} has {text.count(chr(10))} lines, manifest says {entry.get('rows')}")
            if EMAIL_SCAN.search(text):
                problems.append(f"{name} contains something that looks like a clear-text email address")
        else:
            problems.extend(_check_csv(name, path, entry.get("rows")))
    return problems
