"""docs/architecture.md against the code: the events table says who hears each event,
the packages table names every module of ideas/, the page registries and the files it
names exist. A newcomer reads that page first; it must not send them where nothing is."""
from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import ideas
from ideas import events

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"
LISTENERS = ("voting", "insight", "notifications", "search", "webhooks")


def _section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _rows(title: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in _section(title).splitlines() if line.startswith("| `")]


def _listeners_named(cell: str) -> set[str]:
    plain = re.sub(r"\([^)]*\)", "", cell)  # what each listener does is said in brackets
    return set(re.findall(rf"\b({'|'.join(LISTENERS)})\b", plain))


def _listeners_of(app, name: str) -> set[str]:
    packages = {handler.__module__.split(".")[1] for handler in app.extensions["ideas.events"].get(name, [])}
    return {"webhooks" if package == "integrations" else package for package in packages}


def test_the_events_table_names_every_event_once(app) -> None:
    named = [name for row in _rows("Events") for name in re.findall(r"`([a-z_.*]+)`", row[0])]
    assert sorted(named) == sorted([*events.DOMAIN_EVENTS, "review.*"])


def test_the_events_table_says_who_hears_each_event(app) -> None:
    for event_cell, _emitted_by, heard_by in _rows("Events"):
        names = re.findall(r"`([a-z_.*]+)`", event_cell)
        said = _listeners_named(heard_by)
        if names == ["review.*"]:
            assert said == set().union(*(_listeners_of(app, name) for name in events.REVIEW_EVENTS)), heard_by
            continue
        for name in names:
            assert said == _listeners_of(app, name), f"{name}: the table says {sorted(said)}"


def test_the_packages_table_names_every_module_of_ideas() -> None:
    rows = [line.strip("|").split("|") for line in _section("The packages, bottom to top").splitlines()
            if line.startswith("| ") and not line.startswith("| layer")]
    named = {name for row in rows for name in re.findall(r"`([a-z_]+)`", row[1])}
    modules = {module.name for module in pkgutil.iter_modules(ideas.__path__)}
    assert modules <= named, f"not in the table: {sorted(modules - named)}"
    assert named - {"create_app"} <= modules, f"no such module: {sorted(named - modules)}"


def test_the_page_registries_are_the_ones_the_site_keeps(app) -> None:
    page = _section("Where a newcomer adds").split("- **a rule**")[0]
    named = set(re.findall(r"`(ideas\.[a-z_]+)`", page))
    kept = {key for key, value in app.extensions.items() if key.startswith("ideas.") and isinstance(value, list)}
    assert named == kept


def test_the_files_it_names_exist() -> None:
    repository = Path(ideas.__file__).resolve().parent.parent
    for path in set(re.findall(r"`((?:ideas/|tests/)?[a-z_]+/[a-z_]+\.py)`", DOC.read_text(encoding="utf-8"))):
        where = repository if path.startswith(("ideas/", "tests/")) else repository / "ideas"
        assert (where / path).is_file(), path
