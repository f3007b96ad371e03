"""The spec's switches and presets, and the spec's JSON pinned to what stored runs and checkpoints were keyed by."""

from __future__ import annotations

import pytest

from tony.core.errors import SpecError, UnknownComponentError
from tony.core.registry import registry
from tony.core.spec import content_key
from tony.rl import api
from tony.rl.presets import PRESET_KIND, get_preset
from tony.rl.spec import OPTIMIZATIONS, SWITCH_NAMES, RLSpec, Switches

PAPER_OPTIMIZATIONS = ("value_clipping", "reward_scaling", "orthogonal_init", "lr_annealing", "reward_clipping",
                       "obs_normalization", "obs_clipping", "tanh_activations", "grad_clipping")
"""Engstrom et al. (2020), section 3, in its order: value function clipping, reward scaling, orthogonal
initialization and layer scaling, Adam learning-rate annealing, reward clipping, observation normalization,
observation clipping, hyperbolic tan activations, global gradient clipping."""

STORED_KEYS = {
    "PPO": "1bab74f2a2ca01001e83f08ef08d5dc687e01ed0b140c49acbba5f31b3d7ef7e",
    "PPO-M": "e5c633769940994d3482170b427afa932e29ef34f49a3f5d6cb607b56e888718",
    "PPO-NoClip": "b756841407e90d67eee76e7cee0d65428f7a318fbad1eef632d0e15b19fcb95b",
    "TRPO": "49f6583481144066148df1d20ddd67852f85f0b5857605ed104ee7e202100fd5",
    "TRPO+": "0d4540f9ce24072491e3e7eee9b2bba3886934fa611f59c6ef122f8f42baff02",
    "PPO -grad_clipping": "e6e71850d5f97bceef8774c6803f3cf7776dc22868e1cd1ecf573347f8bbaba2",
    "PPO -lr_annealing": "db6edffbf2eeeac22adaa6a07a256ebd891fe908a3299bf062c2690f24b877b3",
    "PPO -obs_clipping": "4575caeae20fa935caef7eac897589c632c8d9be3b9683f54382a879073a5472",
    "PPO -obs_normalization": "8e3f1d6ed3d3d31dea7cd362e2864b81ad91da73b64b1e36685134d2379fe6f9",
    "PPO -orthogonal_init": "e1c4f481c6a87d320ef408435b1673bfcc0e3dea4f4067407a8141b61d50d2ac",
    "PPO -ratio_clipping": "c42c2fefa05e7ce0a8a306c766d4a1ee8edfefce92ad52bf247c39c13bf855c5",
    "PPO -reward_clipping": "280dcef545b382da993d0a0fa1b12a3b58604de9527ce9be4f8024985f2a1364",
    "PPO -reward_scaling": "687c263f90dd001d78e8ab1fb99610a253b221f67bcd10d750380973975973db",
    "PPO -tanh_activations": "1ccdf252c65f08ae223c9c57a3b3b931abd80c16c3658d6159a005e45cbdeeae",
    "PPO -value_clipping": "d1ee49a6375496651bf39f5dee74888cabce624057e5a0f57d3eed4027443401",
}
"""SHA-256 of {"kind": "RLSpec", "spec": the spec's whole JSON}: the run ids and checkpoint names that tony
wrote before `Switches` existed (switches a plain mapping), computed with that code on the default run (Hopper-v5,
1,000,000 steps, seed 0): each preset, and PPO with each switch turned off."""

PPO_JSON = {
    "adam_eps": 1e-05, "algo": "ppo", "cg_damping": 0.1, "cg_iters": 10, "clip_eps": 0.2, "ent_coef": 0.0,
    "env": "Hopper-v5", "epochs": 10, "gae_lambda": 0.95, "gamma": 0.99, "hidden": [64, 64], "init_log_std": 0.0,
    "line_search_shrink": 0.5, "line_search_steps": 10, "lr": 0.0003, "max_grad_norm": 0.5, "max_kl": 0.01,
    "minibatches": 32, "normalize_advantages": True, "num_envs": 1, "obs_clip": 10.0, "preset": "PPO",
    "reward_clip": 10.0, "seed": 0, "steps_per_iteration": 2048,
    "switches": {"grad_clipping": True, "lr_annealing": True, "obs_clipping": True, "obs_normalization": True,
                 "orthogonal_init": True, "ratio_clipping": True, "reward_clipping": True, "reward_scaling": True,
                 "tanh_activations": True, "value_clipping": True},
    "total_steps": 1000000, "value_clip_eps": 0.2, "variant": "", "vf_coef": 0.5,
}
"""The default PPO spec's JSON as the code before `Switches` wrote it."""


def _stored_key(spec: RLSpec) -> str:
    return content_key({"kind": type(spec).__name__, "spec": spec.model_dump(mode="json")})


def _representative_specs() -> dict[str, RLSpec]:
    specs = {name: api.make_spec(name) for name in ("PPO", "PPO-M", "PPO-NoClip", "TRPO", "TRPO+")}
    specs.update({f"PPO -{name}": api.make_spec("PPO", switches={name: False}) for name in SWITCH_NAMES})
    return specs


def test_the_spec_json_is_what_stored_runs_were_keyed_by():
    specs = _representative_specs()
    assert specs["PPO"].model_dump(mode="json") == PPO_JSON
    assert {label: _stored_key(spec) for label, spec in specs.items()} == STORED_KEYS
    assert {spec.label() for spec in specs.values()} == set(STORED_KEYS)
    for spec in specs.values():  # a stored spec reads back as the same spec, so its key follows the kernel's
        again = RLSpec.parse(spec.model_dump(mode="json"))
        assert again == spec and again.key() == spec.key()


def test_switches_are_the_papers_optimizations_and_ratio_clipping():
    assert OPTIMIZATIONS == PAPER_OPTIMIZATIONS
    assert SWITCH_NAMES == (*PAPER_OPTIMIZATIONS, "ratio_clipping")
    assert Switches().turned_on() == []
    summaries = Switches.summaries()
    assert list(summaries) == list(SWITCH_NAMES)
    assert summaries["grad_clipping"] == "clip the global gradient norm to max_grad_norm"
    for name, field in Switches.model_fields.items():  # every switch says what it does, and where in the paper
        assert field.annotation is bool and field.default is False
        assert "The paper's" in field.description or name == "ratio_clipping"


def test_switches_are_frozen_and_unknown_names_get_the_closest_one():
    switches = Switches(value_clipping=True)
    with pytest.raises(ValueError, match="frozen"):
        switches.value_clipping = False
    with pytest.raises(SpecError, match="unknown switch 'value_cliping': did you mean 'value_clipping'"):
        RLSpec.parse({"algo": "ppo", "env": "InvertedPendulum-v5", "switches": {"value_cliping": True}})
    with pytest.raises(SpecError, match="unknown switch 'warp_drive': choose from value_clipping"):
        api.make_spec("PPO", switches={"warp_drive": True})
    with pytest.raises(SpecError, match="invalid RLSpec field 'switches.tanh_activations'"):
        RLSpec.parse({"algo": "ppo", "env": "InvertedPendulum-v5", "switches": {"tanh_activations": "maybe"}})
    missing_are_off = RLSpec.parse({"algo": "trpo", "env": "InvertedPendulum-v5",
                                    "switches": {"obs_normalization": True}})
    assert missing_are_off.switches.turned_on() == ["obs_normalization"]


def test_presets_come_from_the_registry_with_a_did_you_mean():
    assert [entry.name for entry in registry.entries(PRESET_KIND)] == ["PPO", "PPO-M", "PPO-NoClip", "TRPO", "TRPO+"]
    assert all(entry.description for entry in registry.entries(PRESET_KIND))
    assert get_preset("PPO-M").switches.turned_on() == ["obs_normalization", "ratio_clipping"]
    with pytest.raises(UnknownComponentError, match="unknown RL preset 'PPO-X': did you mean 'PPO-M'"):
        api.make_spec("PPO-X")


def test_a_spec_names_its_departures_from_its_preset():
    spec = api.make_spec("TRPO", env="InvertedPendulum-v5", total_steps=4096,
                         switches={"value_clipping": True, "obs_normalization": False, "tanh_activations": False})
    assert spec.variant == "-obs_normalization +value_clipping"  # a setting equal to the preset's is no departure
    assert spec.label() == "TRPO -obs_normalization +value_clipping"
    assert spec.switches.turned_on() == ["value_clipping"]
