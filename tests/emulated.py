"""The Dolibarr emulator on a private copy of the demo dataset, for the tests."""
import json
import shutil
from pathlib import Path

from emulator import DolibarrEmulator

DEMO_DOLIBARR = Path(__file__).resolve().parents[1] / "demo" / "dolibarr"


def start_emulator(tmp_path, api_key, statuses=None, timezone="UTC"):
    """The demo Dolibarr on a private copy; `statuses` = {ref: status} set before starting."""
    data = tmp_path / "dolibarr"
    shutil.copytree(DEMO_DOLIBARR, data)
    if statuses:
        invoices = json.loads((data / "invoices.json").read_text())
        for invoice in invoices:
            if invoice["ref"] in statuses:
                invoice["status"] = invoice["statut"] = statuses[invoice["ref"]]
        (data / "invoices.json").write_text(json.dumps(invoices))
    emulator = DolibarrEmulator(data, api_key=api_key, timezone=timezone)
    emulator.start()
    return emulator
