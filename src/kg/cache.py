"""An on-disk cache of remote SPARQL answers, so that a repeated run does not ask again.

Only complete, checked answers are stored (an error is never cached). Entries are keyed by
endpoint, query text and answer kind, written atomically, and a damaged entry is ignored and
fetched again. The folder is ``$KG_CACHE_DIR``, else ``$XDG_CACHE_HOME/resistance-kg``, else
``~/.cache/resistance-kg``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .atomic import write_atomic
from .errors import KgError
from .results import Result
from .terms import Term


def default_folder() -> Path:
    if os.environ.get("KG_CACHE_DIR"):
        return Path(os.environ["KG_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "resistance-kg"


class CachedEngine:
    """Wraps an engine (``select``/``construct``) with the on-disk cache; ``refresh`` skips reading it."""

    def __init__(self, engine, folder: str | Path | None = None, *, refresh: bool = False):
        self.engine = engine
        self.folder = Path(folder) if folder else default_folder()
        self.refresh = refresh
        self.hits = 0
        self.misses = 0

    def _path(self, kind: str, text: str) -> Path:
        key = hashlib.sha256(f"{kind}\n{self.engine.endpoint}\n{text}".encode()).hexdigest()
        return self.folder / key[:2] / f"{key}.{kind}"

    def _read(self, path: Path) -> bytes | None:
        if self.refresh:
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def _write(self, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
        except (KgError, OSError):
            return  # a cache that cannot be written only makes the next run slower

    def select(self, text: str) -> Result:
        path = self._path("json", text)
        cached = self._read(path)
        if cached is not None:
            try:
                doc = json.loads(cached)
                if "boolean" in doc:
                    result = Result((), (), bool(doc["boolean"]))
                else:
                    rows = tuple({k: Term.from_json(v) for k, v in b.items()} for b in doc["results"]["bindings"])
                    result = Result(tuple(doc["head"]["vars"]), rows)
                self.hits += 1
                return result
            except (ValueError, KeyError, TypeError, AttributeError):
                pass  # damaged entry: ask again
        self.misses += 1
        result = self.engine.select(text)
        self._write(path, json.dumps(result.to_json(), ensure_ascii=False).encode("utf-8"))
        return result

    def construct(self, text: str) -> bytes:
        path = self._path("ttl", text)
        cached = self._read(path)
        if cached:
            self.hits += 1
            return cached
        self.misses += 1
        data = self.engine.construct(text)
        self._write(path, data)
        return data
