"""The README and docs/ name only settings, commands, paths and anchors that exist."""

from __future__ import annotations

import contextlib
import io
import re
from functools import cache
from pathlib import Path

import pytest

from bot.__main__ import main as cli
from bot.ops import docs
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SETTINGS = {name.upper() for name in Settings.model_fields}
# UPPER_SNAKE names the pages use that are not settings of the bot.
NOT_SETTINGS = {
    "CI",  # CI=true: .ci/run and the test fixtures
    "LLAMA_TESTS",  # .ci/run: add the real-server tests
    "INTERPLAY_EXAMPLES",  # tests/interplay knobs
    "INTERPLAY_STEPS",
    "INTERPLAY_SEED_RANDOM",
    "INTERPLAY_SHRINK",
    "REPLY_EXAMPLES",  # examples of tests/slack/test_reply_generator.py (issue 28)
    "PR_SET_PDEATHSIG",  # Linux prctl option
    "RLIMIT_AS",  # Linux resource limit
    "SERVER__TOOL",  # how MCP tools are named
    "TYPE_CHECKING",  # typing.TYPE_CHECKING
}
PATH = re.compile(r"(?<![\w/.$-])((?:bot|tests|bench|docs|migrations|\.ci)/[\w./@-]*)")
COMMAND = re.compile(r"python -m bot ([a-z][\w-]*)")
MODULE = re.compile(r"python -m ((?:bot|bench)\.[\w.]+|bench\b)")
NAME = re.compile(r"(?<![\w./$])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)(_\*)?(?![\w(])")
ASSIGNMENT = re.compile(r"(?<![\w.$])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)=")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """Return GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    fence, found = False, set()
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"^#{1,6} (.*)$", line)):
            found.add(slug(m.group(1)))
    return found


@cache
def command_exists(name: str) -> bool:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            cli([name, "--help"])
        except SystemExit as exc:
            return exc.code == 0
    return False


def module_exists(name: str) -> bool:
    path = ROOT / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__main__.py").is_file()


def problems(text: str, page: Path) -> list[str]:
    """List what a page names that does not exist."""
    found: list[str] = []
    fence = False
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{page.name}:{number}"
        if line.startswith("```"):
            fence = not fence
            continue
        spans = [line] if fence else re.findall(r"`([^`]+)`", line)
        for span in spans:
            for path in PATH.findall(span):
                if not (ROOT / path.rstrip(".,:;")).exists():
                    found.append(f"{where}: no such path {path}")
        names = ASSIGNMENT.findall(line) if fence else []
        for span in [] if fence else spans:
            for name, star in NAME.findall(span):
                if star:
                    if not any(s.startswith(name + "_") for s in SETTINGS):
                        found.append(f"{where}: no setting matches {name}_*")
                elif "_" in name:
                    names.append(name)
        found += [f"{where}: no setting {n}" for n in names if n not in SETTINGS | NOT_SETTINGS]
        for command in COMMAND.findall(line):
            if not command_exists(command):
                found.append(f"{where}: no command python -m bot {command}")
        for module in MODULE.findall(line):
            if not module_exists(module):
                found.append(f"{where}: no module {module}")
        for target in [] if fence else LINK.findall(re.sub(r"`[^`]*`", "", line)):
            found += link_problems(target, page, text, where)
    return found


def link_problems(target: str, page: Path, text: str, where: str) -> list[str]:
    if re.match(r"^[a-z]+:", target):
        return []
    file, _, anchor = target.partition("#")
    path = (page.parent / file).resolve() if file else page
    if not path.exists():
        return [f"{where}: no such file {file}"]
    if anchor and path.suffix == ".md":
        heads = anchors(text if path == page else path.read_text(encoding="utf-8"))
        if anchor not in heads:
            return [f"{where}: no heading #{anchor} in {path.name}"]
    return []


def test_every_setting_has_a_description() -> None:
    missing = [name for name, info in Settings.model_fields.items() if not info.description]
    assert not missing, f"settings without a description: {missing}"


def test_the_reference_groups_are_the_settings_bases() -> None:
    # `GROUPS` orders the configuration page; `Settings` inherits the same groups (mypy
    # refuses a computed base tuple, so the list is written twice and checked here).
    from bot.settings import GROUPS

    assert Settings.__bases__[:-1] == GROUPS, "GROUPS and Settings' bases differ"


def test_every_setting_is_in_the_configuration_page() -> None:
    page = (ROOT / docs.PAGE).read_text(encoding="utf-8")
    missing = [name for name in sorted(SETTINGS) if f"| `{name}` |" not in page]
    assert not missing, f"not in docs/configuration.md: {missing}"


def test_the_configuration_page_is_what_the_generator_writes() -> None:
    page = (ROOT / docs.PAGE).read_text(encoding="utf-8")
    assert page == docs.render(), "docs/configuration.md is stale: run python -m bot.ops.docs"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_name_only_what_exists(page: Path) -> None:
    assert problems(page.read_text(encoding="utf-8"), page) == []


def test_the_readme_test_command_is_the_one_ci_runs() -> None:
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text().splitlines()[-1]
    assert "python -m pytest " in (ROOT / "README.md").read_text()


def test_the_checker_finds_what_does_not_exist(tmp_path: Path) -> None:
    page = tmp_path / "scratch.md"
    text = (
        "# Scratch\n\nSet `OPENAI_MODEL` and `NO_SUCH_SETTING=1`; the `ALLOW_*` and `NOPE_*` lists.\n"
        "Run `python -m bot run`, then `python -m bot frobnicate` and `python -m bench.nothing`.\n"
        "See `bot/settings/model.py` and `bot/no_such_module.py`, [here](#scratch),\n"
        "[there](#nowhere) and [a page](missing.md).\n\n```bash\nNOT_ONE_EITHER=1 python -m bot run\n```\n"
    )
    page.write_text(text)
    found = problems(text, page)
    assert sorted(f.split(": ", 1)[1] for f in found) == sorted(
        [
            "no setting NO_SUCH_SETTING",
            "no setting matches NOPE_*",
            "no command python -m bot frobnicate",
            "no module bench.nothing",
            "no such path bot/no_such_module.py",
            "no heading #nowhere in scratch.md",
            "no such file missing.md",
            "no setting NOT_ONE_EITHER",
        ]
    ), found


def test_the_env_example_names_only_settings() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = re.findall(r"(?:^#? ?|\s)([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)=", text, flags=re.M)
    assert names and not set(names) - SETTINGS, set(names) - SETTINGS
    for path in re.findall(r"docs/[\w.-]+", text):
        assert (ROOT / path).exists(), path


def test_the_readme_fits_on_a_screen_and_links_every_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 100, "the README grows: move the detail to a docs/ page"
    unlinked = [p.name for p in PAGES[1:] if f"](docs/{p.name}" not in readme]
    assert not unlinked, f"docs pages the README does not link: {unlinked}"
