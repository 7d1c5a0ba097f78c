"""Every factory and registered function is declared as an entry point, resolves, and is tested."""

import configparser
from pathlib import Path

import pytest
import spacy
from spacy.util import registry

ROOT = Path(__file__).resolve().parents[1]
GROUPS = {"spacy_misc": "misc", "spacy_readers": "readers", "spacy_augmenters": "augmenters"}


def entry_points():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    section = parser["options.entry_points"]
    out = []
    for group in ("spacy_factories", *GROUPS):
        for line in section.get(group, "").strip().splitlines():
            name, _, target = (part.strip() for part in line.partition("="))
            out.append((group, name, target))
    return out


def test_every_registered_name_is_an_entry_point():
    declared = {name for _, name, _ in entry_points()}
    ours = {n for n in registry.misc.get_all() if n.startswith("spacy_synthnotes.") and ".test." not in n}
    ours |= {n for n in registry.readers.get_all() if n.startswith("spacy_synthnotes.")}
    ours |= {n for n in registry.augmenters.get_all() if n.startswith("spacy_synthnotes.")}
    assert ours <= declared
    assert "synth_notes" in declared


@pytest.mark.parametrize("group,name,target", entry_points())
def test_entry_point_resolves_to_its_function(group, name, target):
    module, _, attr = target.partition(":")
    function = getattr(__import__(module, fromlist=[attr]), attr)
    if group == "spacy_factories":
        assert spacy.blank("en").get_factory_meta(name).factory == name
        assert spacy.registry.factories.get(name) is function
    else:
        assert getattr(registry, GROUPS[group]).get(name) is function


@pytest.mark.parametrize("group,name,target", entry_points())
def test_every_registered_name_is_used_in_a_test(group, name, target):
    sources = [p.read_text() for p in (ROOT / "tests").glob("test_*.py") if p.name != "test_registry.py"]
    sources.append((ROOT / "tests" / "conftest.py").read_text())
    assert any(f'"{name}"' in text for text in sources), f"{name} has no test"
