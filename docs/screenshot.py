"""Regenerate docs/report.png, the README's picture of the HTML report.

    make demo && .venv/bin/python docs/screenshot.py

Debian's chromium draws the demo's report headless (the top of the page, 1200 px wide).
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "tmp" / "demo" / "report_2026-01-01_2026-02-09.html"
IMAGE = ROOT / "docs" / "report.png"


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        sys.exit("chromium not found: apt-get install chromium")
    if not REPORT.exists():
        sys.exit(f"{REPORT.relative_to(ROOT)} not found: run make demo first")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={profile}",
                        "--window-size=1200,1500", f"--screenshot={IMAGE}", REPORT.as_uri()],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"wrote {IMAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
