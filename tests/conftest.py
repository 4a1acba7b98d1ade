"""Shared fixtures. `dolibarr`: a started Dolibarr emulator on a private copy of the demo
dataset (demo/dolibarr), accepting the API key "test-key"; stopped after the test."""
import shutil
from pathlib import Path

import pytest

from emulator import DolibarrEmulator

DEMO_DOLIBARR = Path(__file__).resolve().parents[1] / "demo" / "dolibarr"


@pytest.fixture
def dolibarr(tmp_path):
    data = tmp_path / "dolibarr"
    shutil.copytree(DEMO_DOLIBARR, data)
    with DolibarrEmulator(data, api_key="test-key") as emulator:
        yield emulator
