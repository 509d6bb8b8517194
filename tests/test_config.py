"""Settings: defaults, TOML parsing, overrides and every kind of config error."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmem_tui.config import SECTIONS, default_config_toml, load_settings
from xmem_tui.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_match_the_official_demo(tmp_path: Path) -> None:
    settings = load_settings(None, project_dir=tmp_path)
    assert settings.processing.size == 480
    assert settings.xmem.core_config() == {
        "top_k": 30, "mem_every": 10, "deep_update_every": -1, "enable_long_term": True,
        "enable_long_term_count_usage": True, "max_mid_term_frames": 10, "min_mid_term_frames": 5,
        "max_long_term_elements": 10000, "num_prototypes": 128}
    assert settings.source_dir == tmp_path / "source"


def _official(case: Path) -> dict[str, object]:
    """A reference case's Cutie config without the official options this core keeps off (chunk_size,
    max_internal_size, flip_aug, amp: object chunks, internal resizing, flips and autocast are not config
    keys here; processing.size and processing.amp play those parts)."""
    config = json.loads(str(np.load(case)["config_json"]))
    return {k: v for k, v in config.items() if k not in ("chunk_size", "max_internal_size", "flip_aug", "amp")}


def test_cutie_defaults_are_the_official_eval_config_and_every_key_maps(tmp_path: Path, reference_dir: Path) -> None:
    """[cutie] defaults = the eval config of case A (mem_every 5, long-term on); case C's overrides given as
    flat ``long_term_*`` keys give case C's nested config."""
    settings = load_settings(None, project_dir=tmp_path)
    assert settings.cutie.core_config() == _official(reference_dir / "cutie" / "case_A_short.npz")
    overrides = json.loads(str(np.load(reference_dir / "cutie" / "case_C_long_term.npz")["overrides_json"]))
    flat = {"cutie." + key.replace("long_term.", "long_term_"): value for key, value in overrides.items()}
    assert load_settings(None, flat, project_dir=tmp_path).cutie.core_config() == \
        _official(reference_dir / "cutie" / "case_C_long_term.npz")


def test_generated_config_round_trips(tmp_path: Path) -> None:
    text = default_config_toml()
    assert set(tomllib.loads(text)) == set(SECTIONS)
    settings = load_settings(write(tmp_path, text))
    assert settings == load_settings(None, project_dir=tmp_path).__class__(
        project_dir=tmp_path.resolve(), config_file=(tmp_path / "config.toml").resolve())


def test_values_and_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, '[processing]\nsize = 360\ndevice = "cuda:1"\n[paths]\nsource_dir = "/data/in"\n')
    settings = load_settings(path, {"processing.size": -1, "xmem.top_k": 20})
    assert settings.processing.size == -1
    assert settings.processing.device == "cuda:1"
    assert settings.xmem.top_k == 20
    assert settings.source_dir == Path("/data/in")
    assert settings.workspace_dir == tmp_path.resolve() / "workspace"


@pytest.mark.parametrize(("text", "fragment"), [
    ("[processing]\nsize = 10\n", "processing.size = 10 is out of range; allowed from 64 to 4320 (or -1)"),
    ("[processing]\nsize = \"big\"\n", "processing.size = 'big' is not allowed; use a whole number"),
    ("[processing]\namp = 1\n", "processing.amp = 1 is not allowed; use true or false"),
    ("[processing]\ndevice = \"gpu\"\n", "use auto, cpu, cuda, cuda:N or mps"),
    ("[processing]\nengine = \"sam\"\n", "use one of: auto, xmem, cutie, flow"),
    ("[processing]\nbackend = \"openvino\"\n", "processing.backend = 'openvino' is not allowed; use one of: auto, "
                                                  "nnpack, torch"),
    ("[cutie]\nlong_term_min_mem_frames = 10\n", "cutie.long_term_min_mem_frames (10) must be smaller than "
                                                 "cutie.long_term_max_mem_frames (10)"),
    ("[cutie]\nlong_term_buffer_tokens = 9900\n", "cutie.long_term_buffer_tokens (9900) plus "
                                                  "cutie.long_term_num_prototypes (128) must be smaller than "
                                                  "cutie.long_term_max_num_tokens (10000)"),
    ("[cutie]\nmem_every = 0\n", "cutie.mem_every = 0 is out of range"),
    ("[processing]\nsizee = 3\n", "unknown key processing.sizee; allowed keys in [processing]: size"),
    ("[proccessing]\n", "unknown section [proccessing]"),
    ("[xmem]\nmin_mid_term_frames = 10\n", "must be smaller than xmem.max_mid_term_frames"),
    ("[export]\nbackground = \"green\"\n", "use a colour like"),
    ("[export]\nmedian = 4\n", "must be odd"),
    ("processing = 3\n", "[processing] must be a table"),
    ("[processing\nsize=1", "not valid TOML"),
])
def test_errors_name_file_key_value_and_fix(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert fragment in str(err.value)
    assert str(path.resolve()) in str(err.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


@given(size=st.integers(min_value=-10_000, max_value=10_000))
def test_size_accepts_exactly_the_documented_range(size: int) -> None:
    allowed = size == -1 or 64 <= size <= 4320
    try:
        settings = load_settings(None, {"processing.size": size}, project_dir=Path("/tmp"))
    except ConfigError:
        assert not allowed
    else:
        assert allowed and settings.processing.size == size


@given(st.dictionaries(st.sampled_from(["top_k", "mem_every", "num_prototypes"]),
                       st.one_of(st.integers(-5, 2000), st.floats(allow_nan=False), st.booleans(), st.text())))
def test_xmem_values_are_validated_never_crash(values: dict) -> None:
    try:
        settings = load_settings(None, {f"xmem.{k}": v for k, v in values.items()}, project_dir=Path("/tmp"))
    except ConfigError as exc:
        assert "xmem." in str(exc)
    else:
        for key, value in values.items():
            assert getattr(settings.xmem, key) == value and isinstance(value, int) and not isinstance(value, bool)
