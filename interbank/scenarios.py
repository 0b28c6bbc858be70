"""Config YAMLs by name: ``--config stress`` means ``configs/stress.yaml``.

A name is looked up in ``configs/`` under the working folder first (the repository's, or a
user's own folder of scenarios), then in the copies shipped inside the package
(``interbank/configs``: in the repository a link to ``configs/``, in a wheel the files
themselves), so named scenarios and the default scenario work from an installed wheel too.
A path ``configs/...`` that is not there (the README's commands run outside the repository)
is read from the package's copy. Anything else that names no file is returned as the path it is
(the config loader then says "no such config file").
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from interbank.ui import path_arg

NAME_LENGTH = 64
NAME = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{NAME_LENGTH - 1}}}$")  # a name, not a path (the server's scenarios and checkpoints too)
LOCAL = Path("configs")


def packaged_configs() -> Path | None:
    """The package's own ``configs`` folder on disk, or None (a zipped install, or a repository
    checkout where the link did not survive)."""
    root = resources.files("interbank") / "configs"
    try:
        path = Path(os.fspath(root))  # type: ignore[arg-type]  # a plain folder for an ordinary install
    except TypeError:
        return None
    return path if path.is_dir() else None


def config_folders(sub: str = "") -> list[Path]:
    """Where names are looked up, in order: ``./configs/SUB``, then the package's ``configs/SUB``."""
    folders = [LOCAL / sub if sub else LOCAL]
    packaged = packaged_configs()
    if packaged is not None:
        folders.append(packaged / sub if sub else packaged)
    return folders


def scenarios_folder() -> Path:
    """The folder of scenario YAMLs ``interbank serve`` offers by name: ``./configs`` where it
    exists, else the package's."""
    return next((f for f in config_folders() if f.is_dir()), LOCAL)


def find(name: str, sub: str = "") -> Path | None:
    """``configs/SUB/NAME.yaml`` from the first folder that has it, or None."""
    if not NAME.match(name):
        return None
    return next((f / f"{name}.yaml" for f in config_folders(sub) if (f / f"{name}.yaml").is_file()), None)


def resolve(value: str | Path, sub: str = "") -> Path:
    """A config argument as a path: an existing file as it is, else a bare name's YAML if one is
    found, else the value unchanged."""
    path = Path(value)
    if path.is_file():
        return path
    packaged = packaged_configs()
    if packaged is not None and not path.is_absolute() and path.parts[:1] == (LOCAL.name,):
        # ``configs/default.yaml`` as the README writes it, from outside the repository: the package's copy
        shipped = packaged.joinpath(*path.parts[1:])
        if shipped.is_file():
            return shipped
    return find(str(value), sub) or path


def default_scenario() -> Path | None:
    """``configs/default.yaml`` (the working folder's, else the package's), or None."""
    return find("default")


def scenario_arg(value: str) -> Path:
    """argparse ``type`` for a scenario ``--config``: a path or a name in ``configs/`` (not empty)."""
    return resolve(path_arg(value))


def train_config_arg(value: str) -> Path:
    """argparse ``type`` for a training ``--config``: a path or a name in ``configs/train/`` (not empty)."""
    return resolve(path_arg(value), "train")


def experiment_preset(name: str) -> Path | None:
    """The preset of an experiment (``configs/experiments/NAME.yaml``, dashes as underscores), or None."""
    return find(name.replace("-", "_"), "experiments")


def scenario_names() -> str:
    """The scenario names ``--config`` takes here, comma-separated (for help texts)."""
    names = {p.stem for f in config_folders() if f.is_dir() for p in f.glob("*.yaml") if NAME.match(p.stem)}
    return ", ".join(sorted(names))
