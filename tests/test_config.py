import copy

import pytest
import yaml
from conftest import REPO

from hmr.config import ConfigError, load_config, validate_config


@pytest.fixture()
def config():
    return load_config(REPO / "config.yaml")


def test_default_and_tiny_configs_are_valid():
    load_config(REPO / "config.yaml")
    load_config(REPO / "tests" / "configs" / "tiny.yaml")


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c.update(bogus=1), r"<top level>: unknown key\(s\) 'bogus'"),
    (lambda c: c["datasets"]["synthetic"].update(width="wide"), r"datasets\.synthetic\.width: 'wide' is not of type 'integer'"),
    (lambda c: c["datasets"]["synthetic"].update(fps=-1), r"datasets\.synthetic\.fps"),
    (lambda c: c["body_model"].update(smpl_path="/no/such/SMPL_NEUTRAL.pkl"), r"body_model\.smpl_path: file not found: /no/such/SMPL_NEUTRAL\.pkl"),
    (lambda c: c["datasets"]["synthetic"].update(amass_dir="/no/such/amass"), r"datasets\.synthetic\.amass_dir: folder not found"),
    (lambda c: c["datasets"].update(mine={"type": "videos"}), r"datasets\.mine: 'path' is a required property"),
    (lambda c: c["preview"].update(dataset="nope"), r"preview\.dataset: 'nope' is not a dataset"),
])
def test_bad_config_gives_one_line_naming_the_key(config, mutate, message):
    bad = copy.deepcopy(config)
    mutate(bad)
    with pytest.raises(ConfigError, match=message) as err:
        validate_config(bad)
    assert "\n" not in str(err.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_folder_datasets_validate(tmp_path, config):
    good = copy.deepcopy(config)
    good["datasets"]["mine"] = {"type": "sequences", "path": str(tmp_path)}
    validate_config(good)
    yaml.safe_dump(good)
