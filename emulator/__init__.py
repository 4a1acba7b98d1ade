"""A local Dolibarr REST API emulator for tests and `make demo` (standard library only).

It serves a dataset folder (see `emulator.dataset`) the way a Dolibarr 23.0.0-beta
answered when captured (tests/data/dolibarr_captured/, the facts in API_FACTS.md):
string-typed fields, 8-decimal amounts, dates as midnight in the server's timezone,
the real error bodies, and the hazards of the write endpoints.

    from emulator import DolibarrEmulator
    with DolibarrEmulator("demo/dolibarr", api_key="test-key", timezone="Europe/Paris") as emu:
        ...  # emu.url is the DOLIBARR_URL; the API lives under emu.url + "/api/index.php"
"""
from .dataset import DatasetError
from .server import DolibarrEmulator

__all__ = ["DolibarrEmulator", "DatasetError"]
