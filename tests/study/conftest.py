import pytest
import yaml

#: a small study: two networks, a 1x2 grid, one recipe with an SRAM data type, tiny training
SMALL_STUDY = {
    "name": "small",
    "networks": [
        {"name": "alexnet-cifar", "proxy": {"workload": "alexnet-mini", "lr": 0.03}},
        {"name": "resnet18-cifar", "proxy": {"workload": "resnet18-mini", "lr": 0.03, "init": "pytorch"}},
    ],
    "base_config": {"training": {"batch": 4}, "array": {"rows": 32, "cols": 32}, "engine": {"max_tiles_per_op": 4}},
    "grid": {"voltages_v": [1.25], "pulses_ns": [10, 5]},
    "recipes": [{"name": "relax-act-err-sram-wgt", "relaxed": ["activation", "error"], "sram": ["weight"]}],
    "het_scenarios": ["iso-area"],
    "accuracy": {"seeds": [0], "epochs": 1, "train_samples": 128},
}


@pytest.fixture
def small_study_file(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(yaml.safe_dump(SMALL_STUDY))
    return p
