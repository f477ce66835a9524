"""The UI ships inside the package: a built wheel holds every template and static file (so a plain
``pip install`` serves a working UI, with no front-end build), and the engine never imports it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "gennaker" / "web"


def test_the_engine_does_not_import_the_web_package() -> None:
    script = (
        "import importlib, pkgutil, sys, gennaker.engine as e\n"
        "for m in pkgutil.walk_packages(e.__path__, 'gennaker.engine.'): importlib.import_module(m.name)\n"
        "bad = sorted(m for m in sys.modules if m.startswith('gennaker.web'))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_the_wheel_carries_the_templates_and_static_files(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("gennaker-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "gennaker/web/" + str(p.relative_to(WEB))
        for folder in ("templates", "static")
        for p in (WEB / folder).iterdir()
        if p.is_file()
    }
    assert expected and expected <= names, sorted(expected - names)
