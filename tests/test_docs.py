"""The documentation people read says what the code does: every flag in README's flags
table, every setting of recon.config.SCHEMA in config.yaml with its default."""
from __future__ import annotations

from pathlib import Path

import yaml

from recon.config import SCHEMA
from recon.flags import FLAGS

ROOT = Path(__file__).resolve().parents[1]


def test_readme_flags_table_names_every_flag():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## What the flags mean", 1)[1].split("\n## ", 1)[0]
    assert [code for code in FLAGS if f"`{code}`" not in table] == []


def test_config_yaml_gives_every_setting_its_default():
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    written = {(section, key): value for section, keys in config.items()
               for key, value in keys.items()}
    expected = {(section, key): default for section, keys in SCHEMA.items()
                for key, (_, default) in keys.items()}
    assert written == expected
