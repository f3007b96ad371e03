"""Commands come from the registry: a plugin package adds one through `tony.plugins`; `tony ls` lists every kind.

The plugin is a real (if tiny) distribution: a module and its dist-info with entry_points.txt in a folder put on
PYTHONPATH, driven through the real `tony` command in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tony.cli import main
from tony.core.registry import registry

HELLO = '''
"""A third-party plugin with one command, `tony hello NAME`."""
import os
from pathlib import Path


def register(registry):
    if os.environ.get("HELLO_MARKER"):  # says that the plugin was loaded
        Path(os.environ["HELLO_MARKER"]).write_text("loaded")
    registry.add("command", os.environ.get("HELLO_COMMAND", "hello"), "tony_hello_plugin", "greets from a plugin")


def add_commands(commands):
    hello = commands.add_parser(os.environ.get("HELLO_COMMAND", "hello"), help="greet someone (a plugin's command)")
    hello.add_argument("name")
    hello.add_argument("--times", type=int, default=1)


def run(args):
    for _ in range(args.times):
        print(f"hello, {args.name}")
    return 0
'''


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    """A folder holding the plugin module and its distribution's metadata, as pip would install them."""
    (tmp_path / "tony_hello_plugin.py").write_text(textwrap.dedent(HELLO))
    dist = tmp_path / "tony_hello_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tony-hello-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[tony.plugins]\nhello = tony_hello_plugin:register\n")
    return tmp_path


def tony(*args: str, path: Path, **env: str) -> subprocess.CompletedProcess:
    python_path = os.pathsep.join(p for p in (str(path), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run([sys.executable, "-m", "tony.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": python_path, "TONY_PROGRESS": "0", **env})


def test_a_plugin_command_shows_in_help_runs_and_is_listed(plugin_path: Path):
    marker = plugin_path / "loaded"
    helped = tony("--help", path=plugin_path, HELLO_MARKER=str(marker))
    assert helped.returncode == 0, helped.stderr
    assert "hello" in helped.stdout and "greet someone (a plugin's command)" in helped.stdout
    assert marker.read_text() == "loaded"
    greeted = tony("hello", "Ada", "--times", "2", path=plugin_path)
    assert (greeted.returncode, greeted.stdout, greeted.stderr) == (0, "hello, Ada\nhello, Ada\n", "")
    listed = tony("ls", "command", path=plugin_path)
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    assert names == ["annotations", "breeds", "edit", "hello", "icl", "poison", "priors", "rl", "safety", "voice"]
    assert "greets from a plugin" in listed.stdout
    bad = tony("hello", path=plugin_path)  # the plugin's own parser checks its arguments
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "name" in bad.stderr


def test_tonys_own_commands_parse_without_loading_plugins(plugin_path: Path):
    marker = plugin_path / "loaded"
    for args in (["breeds", "--help"], ["ls", "--help"]):
        done = tony(*args, path=plugin_path, HELLO_MARKER=str(marker))
        assert done.returncode == 0, done.stderr
        assert not marker.exists(), f"`tony {' '.join(args)}` loaded the plugin"
    unknown = tony("helo", path=plugin_path, HELLO_MARKER=str(marker))  # any other name may be a plugin's
    assert unknown.returncode == 2 and "invalid choice: 'helo'" in unknown.stderr and "'hello'" in unknown.stderr
    assert marker.exists()


def test_a_plugin_command_cannot_take_the_name_of_tonys_own(plugin_path: Path):
    done = tony("--help", path=plugin_path, HELLO_COMMAND="run")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == ["tony: error: the registered command 'run' (tony_hello_plugin) takes the name "
                                        "of one of tony's own commands: register it under another name"]
    assert tony("run", "--help", path=plugin_path, HELLO_COMMAND="run").returncode == 0  # tony's own `run` is intact


@pytest.mark.parametrize("args", [["--help"], ["ls"], ["breeds", "run", "--help"]])
def test_help_and_listing_import_no_component_and_no_plugin_machinery(args: list[str]):
    """Without plugins installed, importlib.metadata (40 ms) is not imported; no component module is either."""
    code = ("import contextlib, io, sys\nfrom tony.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit): main({args!r})\n"
            "print(' '.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    imported = set(done.stdout.split())
    assert "tony.core.registry" in imported and "tony.icl.cli" in imported  # the check below can see imports
    heavy = {"numpy", "torch", "pydantic", "sqlalchemy", "importlib.metadata", "tony.core.spec", "tony.lm.suite",
             "tony.icl.baselines", "tony.vision.models", "tony.vision.breeds.study", "tony.vision.breeds.files"}
    assert not imported & heavy


def test_ls_lists_every_kind_then_one(capsys: pytest.CaptureFixture[str]):
    assert main(["ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    headers = [line.partition(":")[0] for line in lines if not line.startswith(" ")]
    assert headers == registry.kinds()
    assert {"scenario", "model", "metric", "perturbation", "study", "dataset", "report", "command", "icl_function",
            "icl_baseline", "icl_preset", "vision_model"} <= set(headers)
    assert main(["ls", "icl_baseline"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"icl_baseline: {registry.kind('icl_baseline').description}"
    assert [line.split()[0] for line in lines[1:]] == ["averaging", "gd_network", "greedy_tree", "lasso",
                                                       "least_squares", "nearest_neighbors", "xgboost"]


def test_ls_of_an_unknown_kind_is_one_line_with_the_closest(capsys: pytest.CaptureFixture[str]):
    assert main(["ls", "icl_baselines"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("tony: error: unknown kind of component 'icl_baselines': did you mean "
                                   "'icl_baseline'? `tony ls` lists them (scenario, ")
    assert captured.err.count("\n") == 1
