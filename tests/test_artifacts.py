"""Model artifacts: the newest version is the one fitted last, whatever its name."""

import json

import pytest

from storelift.artifacts import ArtifactError, load_models, newest_version, save_models


def test_the_newest_version_is_the_last_fitted_not_the_last_name(tmp_path):
    save_models(tmp_path, "recommend-ease-20250101-1", {"model": "ease"})
    save_models(tmp_path, "recommend-bpr-20240101-1", {"model": "bpr"})  # sorts first by name, fitted last
    assert newest_version(tmp_path, "recommend-") == "recommend-bpr-20240101-1"
    assert load_models(tmp_path, prefix="recommend-") == ("recommend-bpr-20240101-1", {"model": "bpr"})
    # a refit of the older run (as erasure writes it) keeps that run's fit time, so it stays older
    older = json.loads((tmp_path / "recommend-ease-20250101-1" / "manifest.json").read_text())
    save_models(tmp_path, "recommend-ease-20250101-1-erased-2", {"model": "ease without one customer"},
                meta={"fitted_at": older["fitted_at"]})
    assert newest_version(tmp_path, "recommend-") == "recommend-bpr-20240101-1"
    # a folder without the required file is not a version
    (tmp_path / "customers-9").mkdir()
    assert newest_version(tmp_path, "customers-") is None
    with pytest.raises(ArtifactError, match="no saved models starting with 'customers-'"):
        load_models(tmp_path, prefix="customers-")
