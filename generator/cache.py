"""A content-addressed cache on disk, for work whose result depends only on its input text.

It lives in ``$SDKFORGE_CACHE_DIR`` (default ``~/.cache/sdkforge``); an empty value turns it
off. It only ever skips work: every caller gives the same output with or without it, so a
corrupt, read-only or full cache costs time and nothing else.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


class _FromEnvironment:
    """The default of ``root`` arguments: read ``$SDKFORGE_CACHE_DIR`` when needed."""


FROM_ENVIRONMENT = _FromEnvironment()


def cache_root() -> Path | None:
    """Where the caches live, from ``$SDKFORGE_CACHE_DIR``; None: turned off."""
    configured = os.environ.get("SDKFORGE_CACHE_DIR")
    if configured == "":
        return None
    return Path(configured) if configured else Path.home() / ".cache" / "sdkforge"


class ContentCache:
    def __init__(self, directory: Path | None, salt: str) -> None:
        self.directory = directory
        self.salt = salt.encode()  # what else the result depends on: tool versions, options

    @classmethod
    def from_environment(cls, namespace: str, salt: str,
                         root: Path | None | _FromEnvironment = FROM_ENVIRONMENT) -> ContentCache:
        """The cache under ``namespace`` (a directory name, e.g. ``black-26.10.1``) in ``root``
        (None: no cache; default: ``cache_root()`` now; a worker is given its parent's, since
        its environment is a copy from when it started)."""
        base = cache_root() if isinstance(root, _FromEnvironment) else root
        return cls(None if base is None else base / namespace, salt)

    def _path(self, key: str) -> Path | None:
        if self.directory is None:
            return None
        digest = hashlib.sha256(self.salt + b"|" + key.encode("utf-8", "surrogatepass")).hexdigest()
        return self.directory / digest[:2] / digest

    def get(self, key: str) -> str | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def put(self, key: str, value: str) -> None:
        path = self._path(key)
        if path is None or not value:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(value, encoding="utf-8")
            os.replace(temporary, path)  # atomic: concurrent runs never see half an entry
        except (OSError, UnicodeEncodeError):
            pass  # a read-only or full cache only costs time
