"""The vendored GOV.UK Frontend and axe-core files are the ones assets/package.json pins, built as
`make assets` builds them.

Checked without Node: `make run` and the tests never need it, only `make assets` does.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
ASSETS = ROOT / "assets"
CSS = ROOT / "bot" / "static" / "govuk" / "govuk-frontend.min.css"
JS = ROOT / "bot" / "static" / "govuk" / "govuk-frontend.min.js"
AXE = ROOT / "tests" / "vendor" / "axe.min.js"


def pinned() -> dict[str, str]:
    return json.loads((ASSETS / "package.json").read_text())["devDependencies"]


def manifest() -> dict[str, dict[str, str]]:
    return json.loads((ASSETS / "manifest.json").read_text())


def test_every_front_end_package_is_pinned_to_one_exact_version_in_package_json_and_the_lock() -> None:
    lock = json.loads((ASSETS / "package-lock.json").read_text())["packages"]
    for name, version in pinned().items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is pinned as {version!r}: pin one exact version"
        assert lock[""]["devDependencies"][name] == version, f"package-lock.json is stale for {name}: run npm install"
        assert lock[f"node_modules/{name}"]["version"] == version


def test_the_vendored_files_were_built_from_the_pinned_versions() -> None:
    built = manifest()
    assert built["versions"] == pinned(), "the vendored files are from other versions: run make assets"
    assert sorted(built["files"]) == sorted(str(p.relative_to(ROOT)) for p in (CSS, JS, AXE))


@pytest.mark.parametrize("path", [CSS, JS, AXE], ids=lambda p: p.name)
def test_each_vendored_file_is_byte_for_byte_what_make_assets_built(path: Path) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    expected = manifest()["files"][str(path.relative_to(ROOT))]
    assert digest == expected, f"{path.name} was changed by hand: run make assets"


def test_each_vendored_file_names_its_version_inside() -> None:
    versions = pinned()
    css, js = CSS.read_text(encoding="utf-8-sig"), JS.read_text()
    assert css.startswith(f"/*! govuk-frontend {versions['govuk-frontend']} ")
    assert f'--govuk-frontend-version: "{versions["govuk-frontend"]}"' in css
    assert f'version="{versions["govuk-frontend"]}"' in js
    assert AXE.read_text().startswith(f"/*! axe v{versions['axe-core']}\n")


def test_the_css_carries_no_gov_uk_branding_and_fetches_nothing() -> None:
    css = CSS.read_text(encoding="utf-8-sig")
    assert "GDS Transport" not in css and "@font-face" not in css
    assert "font-family:arial,sans-serif" in css
    # The crown crest is GOV.UK Frontend's only image; built without it, the CSS loads no file at all.
    assert "url(" not in css


def test_the_vendored_files_ship_in_the_package() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["bot"]
    assert "static/govuk/*" in package_data
