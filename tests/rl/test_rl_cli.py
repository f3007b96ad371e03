"""`tony rl ...` through tony.cli.main: a tiny run, the study's pages, and bad input (exit 2, one line)."""

from __future__ import annotations

import pytest

from tony.cli import main
from tony.core.store import Store
from tony.rl.report import pages


@pytest.mark.parametrize(("argv", "message"), [
    (["rl", "train", "PPO", "--env", "NoSuchEnv-v0"], "unknown environment 'NoSuchEnv-v0'"),
    (["rl", "train", "PPO", "--env", "Hoper-v5"], "did you mean"),
    (["rl", "train", "PPO", "--switch", "warp_drive=on"], "unknown switch 'warp_drive'"),
    (["rl", "train", "PPO", "--switch", "tanh_activations=maybe"], "must be NAME=on or NAME=off"),
    (["rl", "train", "PPO", "--env", "CartPole-v1"], "Discrete action space"),
    (["rl", "train", "PPO-X"], "unknown RL preset 'PPO-X': did you mean 'PPO-M'?"),
    (["rl", "train", "TRPO", "--switch", "ratio_clipping=on"], "TRPO has no ratio to clip"),
    (["rl", "ablate", "--flip", "warp_drive"], "unknown switch 'warp_drive'"),
    (["rl", "train", "PPO", "--steps", "100"], "at least one iteration"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys, tmp_path):
    assert main([*argv, "--store", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_presets_and_switches_list(capsys):
    assert main(["rl", "presets"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("PPO", "PPO-M", "PPO-NoClip", "TRPO", "TRPO+"))
    assert main(["rl", "switches"]) == 0
    assert "reward_scaling" in capsys.readouterr().out


def test_ablate_two_seeds_in_parallel_then_report(capsys, tmp_path):
    store = str(tmp_path / "store")
    argv = ["rl", "ablate", "--preset", "PPO-M", "--seeds", "2", "--workers", "2", "--env", "InvertedPendulum-v5",
            "--steps", "2048", "--store", store]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "PPO-M" in out and "InvertedPendulum-v5" in out
    opened = Store(store)
    runs = opened.runs("complete")
    assert len(runs) == 2 and {r["spec"]["seed"] for r in runs} == {0, 1}
    page = next(iter(pages(opened)))
    assert page.path == "rl/index.html" and page.body.count("<svg") == 6 and "PPO-M" in page.body
    assert main(argv) == 0  # a second time: both runs already stored
    assert capsys.readouterr().err.count("already stored") == 2
