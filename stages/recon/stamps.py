"""Content stamps for Make: a file rewritten only when what it stands for changes.

Make decides by modification times; an export replaced by an older-dated copy (`cp -p`,
unzip, `rsync -a`) or a removed file would go unseen. Each stamp holds the names and the
SHA-256 of the files of one input folder (or the effective values of some settings), and
is rewritten only when that content changes, so Make reruns exactly what depends on it.
Hashes are cached by (size, mtime, ctime): a file is read again only when it was touched
(ctime changes on every write and cannot be set back).

Standard library only, run by Make with the system Python at parse time:

  stamps.py INTERIM_DIR [NAME=files:FOLDER]… [NAME=files-of:VARIABLE]…
            [NAME=values:VAR1,VAR2]… [--given VAR=value]… [--env-file FILE]

`files-of:VARIABLE` stamps the folder the setting names (none when unset); settings take
their effective value: the one Make was given (--given), else .env's (recon.settings).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

try:  # imported by a stage
    from recon import settings
except ImportError:  # run by Make with the system Python: this folder is sys.path[0]
    import settings

STAMP_DIR = "stamps"
# Set by the Makefile: the hash cache this script writes, where the stages find the SHA-256
# of an input for their provenance instead of reading it again.
CACHE_VARIABLE = "RECON_HASH_CACHE"


def visible_files(folder: Path) -> list[Path]:
    """The regular, visible files of the folder, sorted by name."""
    return [p for p in sorted(folder.iterdir()) if not p.name.startswith(".") and p.is_file()]


def _key(path: Path) -> list[int]:
    """What changes whenever the content may have: ctime changes on every write and
    cannot be set back, unlike mtime."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def hashed(paths: list[Path], cache: dict) -> dict:
    """{path: [size, mtime, ctime, sha256]} of each file, read again only when its key
    changed since `cache`. All at once: hashlib lets go of the GIL, so the files are hashed
    side by side, one per core."""
    entries = {str(p.resolve()): _key(p) for p in paths}
    touched = [p for p, key in entries.items() if (cache.get(p) or [])[:3] != key]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        digests = dict(zip(touched, pool.map(_sha256_or_reason, touched)))
    return {p: key + [digests[p] if p in digests else cache[p][3]]
            for p, key in entries.items()}


def sha256_of(path: str | Path) -> str:
    """The file's SHA-256, from the Makefile's hash cache when its entry is still valid."""
    path = Path(path)
    cached = _make_cache().get(str(path.resolve()))
    if cached and cached[:3] == _key(path):
        return cached[3]
    return _sha256(path)


_CACHE: dict | None = None


def _make_cache() -> dict:
    global _CACHE
    if _CACHE is None:
        _CACHE = _read_cache(Path(os.environ.get(CACHE_VARIABLE) or os.devnull))
    return _CACHE


def _read_cache(path: Path) -> dict:
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _sha256_or_reason(path: str) -> str:
    try:
        return _sha256(Path(path))
    except OSError as exc:  # the parser will say it clearly; still a change
        return f"unreadable: {exc.strerror}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def write_if_changed(path: Path, text: str) -> None:
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    interim, *args = argv
    given, jobs = {}, []
    it = iter(args)
    for arg in it:
        if arg == "--given":
            name, _, value = next(it).partition("=")
            given[name] = value
        elif arg == "--env-file":  # Make's value, which $(shell) does not export
            os.environ[settings.ENV_FILE_VARIABLE] = next(it)
        else:
            name, _, spec = arg.partition("=")
            jobs.append((name, *spec.split(":", 1)))
    try:
        values = settings.effective(sorted(given), given)
    except settings.DotenvError as exc:  # the stages say it as an error; here, a change
        values = {name: f"({exc})" for name in given}
    folder = Path(interim) / STAMP_DIR
    cache_path = folder / "hash-cache.json"
    targets = {name: values.get(spec, "") if kind == "files-of" else spec
               for name, kind, spec in jobs if kind != "values"}
    files = {name: visible_files(Path(t)) if t and Path(t).is_dir() else []
             for name, t in targets.items()}
    cache = hashed([p for paths in files.values() for p in paths], _read_cache(cache_path))
    for name, kind, spec in jobs:
        if kind == "values":
            text = "\n".join(f"{v}={values.get(v, '')}" for v in spec.split(",")) + "\n"
            # Hashed: a stamp must never hold a secret, nor a URL's password.
            text = hashlib.sha256(text.encode()).hexdigest() + "\n"
        elif not targets[name]:
            text = "(none)\n"
        elif not Path(targets[name]).is_dir():
            text = f"(no folder {targets[name]})\n"
        else:
            text = "".join(f"{p.name}\t{cache[str(p.resolve())][3]}\n" for p in files[name])
        write_if_changed(folder / f"{name}.stamp", text)
    write_if_changed(cache_path, json.dumps(cache, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
