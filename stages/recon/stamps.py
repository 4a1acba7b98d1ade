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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import settings  # noqa: E402  (stdlib-only sibling; the recon package needs polars)

STAMP_DIR = "stamps"


def file_lines(folder: Path, cache: dict) -> list[str]:
    """`name<TAB>sha256` of every regular, visible file of the folder, sorted by name."""
    if not folder.is_dir():
        return [f"(no folder {folder})"]
    lines = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        st = path.stat()
        key = [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        cached = cache.get(path.name)
        if not cached or cached[:3] != key:
            try:
                cached = key + [_sha256(path)]
            except OSError as exc:  # the parser will say it clearly; still a change
                cached = key + [f"unreadable: {exc.strerror}"]
            cache[path.name] = cached
        lines.append(f"{path.name}\t{cached[3]}")
    return lines


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
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
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    for name, kind, spec in jobs:
        if kind == "values":
            text = "\n".join(f"{v}={values.get(v, '')}" for v in spec.split(",")) + "\n"
            # Hashed: a stamp must never hold a secret, nor a URL's password.
            text = hashlib.sha256(text.encode()).hexdigest() + "\n"
        else:
            target = values.get(spec, "") if kind == "files-of" else spec
            own = cache.setdefault(f"{name}:{target}", {})
            text = "\n".join(file_lines(Path(target), own)) + "\n" if target else "(none)\n"
        write_if_changed(folder / f"{name}.stamp", text)
    write_if_changed(cache_path, json.dumps(cache, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
