"""Versioned model directories with an ``ACTIVE`` pointer file, switched without restarts.

Layout::

    root/
      models/<version>/   model.joblib, meta.json, userdict.txt, train_data.csv.gz
      ACTIVE              the active version id (replaced atomically)

Every process (API workers, Celery workers) holds its own ``ModelRegistry``; ``active()`` stats
the pointer file on each call (a few microseconds) and loads the new model when another process
has promoted one, so a promotion reaches everyone without a restart.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from .model import META_FILE, MODEL_FILE, Model, load_model, resolve_rules
from .rules import UrgencyRules

POINTER = "ACTIVE"
DEFAULT_MODEL_DIR = Path(__file__).with_name("default_model")
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class NoActiveModel(LookupError):
    """The registry has no active model yet (see ``ModelRegistry.bootstrap``)."""


class ModelRegistry:
    def __init__(self, root: str | Path, rules: str | Path | UrgencyRules | None = None) -> None:
        self.root = Path(root)
        self.models_dir = self.root / "models"
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self.rules = resolve_rules(rules)  # one rules object shared by every model loaded here
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._version: str | None = None
        self._model: Model | None = None

    # -- versions --------------------------------------------------------------------------
    def path(self, version: str) -> Path:
        if not _VERSION_RE.match(version):
            raise ValueError(f"bad version id {version!r}")
        return self.models_dir / version

    def versions(self) -> list[str]:
        """Stored versions, oldest first (version ids start with their creation time)."""
        return sorted(p.name for p in self.models_dir.iterdir() if (p / MODEL_FILE).is_file())

    def add(self, model: Model) -> str:
        """Save a trained model as a new version (not active until promoted)."""
        version = model.version
        target = self.path(version)
        if target.exists():
            raise FileExistsError(f"version {version} already exists")
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=self.models_dir))
        try:
            model.save(tmp / "m")
            os.replace(tmp / "m", target)  # readers never see a half-written version
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return version

    def import_dir(self, directory: str | Path) -> str:
        """Copy an existing model directory (e.g. one made by ``classifier train``) in."""
        src = Path(directory)
        if not (src / MODEL_FILE).is_file() or not (src / META_FILE).is_file():
            raise FileNotFoundError(f"{src} is not a model directory")
        version = load_model(src, rules=self.rules).version
        target = self.path(version)
        if target.exists():
            return version
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=self.models_dir))
        try:
            shutil.copytree(src, tmp / "m")
            os.replace(tmp / "m", target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return version

    # -- the active pointer ----------------------------------------------------------------
    def promote(self, version: str) -> None:
        """Make ``version`` active for every process using this registry root."""
        if not (self.path(version) / MODEL_FILE).is_file():
            raise LookupError(f"no model version {version!r} in {self.models_dir}")
        fd, tmp = tempfile.mkstemp(prefix=".ACTIVE.", dir=self.root)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(version + "\n")
        os.replace(tmp, self.root / POINTER)  # atomic: readers see the old or the new id

    def active_version(self) -> str | None:
        try:
            return (self.root / POINTER).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def active(self) -> Model:
        """The active model, reloaded if another process promoted a different version."""
        try:
            st = os.stat(self.root / POINTER)
        except FileNotFoundError:
            raise NoActiveModel(f"no active model in {self.root}") from None
        # os.replace gives the pointer a new inode, so this changes on every promotion.
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        model = self._model
        if stamp == self._stamp and model is not None:
            return model
        with self._lock:
            if stamp != self._stamp or self._model is None:
                version = self.active_version()
                if version is None:
                    raise NoActiveModel(f"empty pointer in {self.root}")
                if version != self._version or self._model is None:
                    self._model = load_model(self.path(version), rules=self.rules)
                    self._version = version
                self._stamp = stamp
            assert self._model is not None
            return self._model

    def bootstrap(self, directory: str | Path = DEFAULT_MODEL_DIR) -> str:
        """Import and promote the shipped default model when nothing is active yet."""
        current = self.active_version()
        if current is not None:
            return current
        version = self.import_dir(directory)
        self.promote(version)
        return version
