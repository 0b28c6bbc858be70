"""The run folder: its layout, atomic writes, checkpoints (write, find the newest, verify).

The only module that writes into a run folder (TensorBoard owns ``tb/``). Training
backends hand it tensors and metadata; everything that loads a checkpoint finds and
checks it here. Nothing in a run folder is ever unpickled.

    runs/NAME/
      config.yaml          the resolved config (train.backend and train.algorithm say what ran)
      command.txt          one command line per start (train, then each --resume)
      versions.json        library versions
      tb/                  TensorBoard
      checkpoints/<step>/
        policy.safetensors the policy's tensors (the actor under the names the numpy loader reads)
        policy.json        what they mean (format, architecture, observation, actions, env, train,
                           ``files``: the SHA-256 of every other file of the checkpoint)
        trainer.safetensors
        trainer.json       what ``--resume`` needs besides the weights: optimizer state, counters,
                           normalisation statistics (tensors + a JSON description of their nesting)
      eval/                written by ``interbank evaluate``

Every file is written to a temporary name and renamed into place (``interbank.files``), and a checkpoint is
filled in ``checkpoints/.tmp-<step>-<pid>/`` and renamed onto ``checkpoints/<step>/``, so a
crash or a full disk never leaves a half-written file where a reader looks; leftover
temporaries are removed the next time the run starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from interbank.envs.observation import FEATURE_NAMES, N_FEATURES
from interbank.files import WriteError, write_atomic
from interbank.sim.actions import ACTIONS, PRIORITIES

FORMAT = "interbank-policy/1"
WEIGHTS = "policy.safetensors"
TRAINER_FORMAT = "interbank-trainer/1"  # trainer.json's format: what --resume reads
META = "policy.json"
TRAINER_WEIGHTS = "trainer.safetensors"
TRAINER_META = "trainer.json"
TRAINER_FILES = (TRAINER_WEIGHTS, TRAINER_META)
"""What only ``--resume`` and ``export`` read (the learner's optimizer state and counters): a policy plays without them."""
CONFIG = "config.yaml"
COMMAND = "command.txt"
VERSIONS = "versions.json"
CHECKPOINTS = "checkpoints"
TORCH_ACTIVATIONS: dict[str, str] = {"tanh": "Tanh", "relu": "ReLU"}
"""Each activation a checkpoint may name -> the ``torch.nn`` module a trainer builds for it (the
numpy actor's function for it: ``interbank.policies.actor.NUMPY_ACTIVATIONS``)."""
ACTIVATIONS = tuple(TORCH_ACTIVATIONS)
MAX_HIDDEN = 65_536


def torch_activation(name: str) -> type:
    """The ``torch.nn`` module class of activation ``name`` (one of ``ACTIVATIONS``; KeyError otherwise)."""
    import torch

    return getattr(torch.nn, TORCH_ACTIVATIONS[name])


class RunFolderError(ValueError):
    """A run folder that cannot be written or read: the message is one line naming why."""


class CheckpointError(RunFolderError):
    """A checkpoint that cannot be used: the message is one line naming why."""


def _oserror(path: Path, err: OSError) -> RunFolderError:
    reason = err.strerror or str(err)
    return RunFolderError(f"{path}: cannot write: {reason}" + (f" (errno {err.errno})" if err.errno else ""))


def append_line(path: Path, line: str) -> None:
    """Append one line to a small text file atomically (the file is rewritten whole)."""
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    write_atomic(path, old + line.rstrip("\n") + "\n")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------ the run folder
def open_run_folder(out: Path, flag: str = "--out") -> Path:
    """Create ``out`` (or reopen it) as a run folder and remove temporaries a crash left behind."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"{flag} {out}: is a file, not a run folder (choose another --out)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunFolderError(f"{flag} {out}: cannot create the run folder: {err.strerror or err}") from None
    remove_stale_temporaries(out)
    return out


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Remove the ``.tmp-*`` folders and ``.<name>.tmp-*`` files an interrupted write left in a run
    folder (one run folder has one writer: anything temporary at start is stale)."""
    removed = []
    for folder in (run_dir, run_dir / CHECKPOINTS):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.name.startswith(".") and ".tmp-" in p.name:
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def write_run_files(run_dir: Path, config_yaml: str, command: str, versions: dict[str, str]) -> None:
    try:
        write_atomic(run_dir / CONFIG, config_yaml)
        append_line(run_dir / COMMAND, command)
        write_atomic(run_dir / VERSIONS, json.dumps(versions, indent=2) + "\n")
    except WriteError as err:
        raise RunFolderError(str(err)) from None


def read_run_config(run_dir: Path) -> dict[str, Any] | None:
    """The run's resolved config as plain data, or None when ``run_dir`` is not a run folder."""
    import yaml

    path = Path(run_dir) / CONFIG
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        raise RunFolderError(f"{path}: not a valid YAML config") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path}: not a run config (expected a mapping)")
    return data


def training_env_config(checkpoint_folder: Path):
    """The env config of the run a checkpoint belongs to (``runs/NAME/config.yaml``), or None."""
    from interbank.config import parse_env_config

    for parent in (checkpoint_folder, *checkpoint_folder.parents[:3]):
        data = read_run_config(parent)
        if data is not None:
            return parse_env_config(data.get("env") or {}, source=str(parent / CONFIG))
    return None


# ------------------------------------------------------------ tensors + nesting, no pickle
def flatten_state(tree: Any, prefix: str = "") -> tuple[dict[str, np.ndarray], Any]:
    """Split a nested state (dicts, lists, tuples, tensors, arrays, numbers, strings) into
    safetensors-ready arrays and a JSON description of the nesting. Dict keys keep their type
    (an optimizer's integer parameter ids stay integers)."""
    tensors: dict[str, np.ndarray] = {}

    def walk(node: Any, path: str) -> Any:
        if hasattr(node, "detach") and hasattr(node, "cpu"):  # a torch tensor
            tensors[path] = np.ascontiguousarray(node.detach().cpu().numpy())
            return {"tensor": path, "torch": True}
        if isinstance(node, np.ndarray):
            tensors[path] = np.ascontiguousarray(node)
            return {"tensor": path, "torch": False}
        if isinstance(node, dict):
            items = []
            for i, (k, v) in enumerate(node.items()):
                if not isinstance(k, (str, int)) or isinstance(k, bool):
                    raise TypeError(f"state key {k!r} at {path or '/'} is not a string or an integer")
                items.append([k, walk(v, f"{path}/{i}")])
            return {"dict": items}
        if isinstance(node, (list, tuple)):
            kind = "list" if isinstance(node, list) else "tuple"
            return {kind: [walk(v, f"{path}/{i}") for i, v in enumerate(node)]}
        if isinstance(node, np.generic):
            node = node.item()
        if node is None or isinstance(node, (bool, int, float, str)):
            return {"value": node}
        raise TypeError(f"state value at {path or '/'} has type {type(node).__name__}, which is not saved")

    return tensors, walk(tree, prefix)


def unflatten_state(tensors: dict[str, np.ndarray], spec: Any, source: str) -> Any:
    """The inverse of ``flatten_state``; a description that does not fit the tensors is refused."""

    def walk(node: Any) -> Any:
        if not isinstance(node, dict) or len(node) not in (1, 2):
            raise CheckpointError(f"{source}: malformed state description near {str(node)[:60]!r}")
        if "tensor" in node:
            key = node["tensor"]
            if not isinstance(key, str) or key not in tensors:
                raise CheckpointError(f"{source}: the state names a tensor {str(key)[:60]!r} the file does not hold")
            if node.get("torch") is True:
                import torch

                return torch.from_numpy(tensors[key].copy())
            return tensors[key]
        ((kind, body),) = node.items()
        if kind == "value":
            if body is not None and not isinstance(body, (bool, int, float, str)):
                raise CheckpointError(f"{source}: malformed state value {str(body)[:60]!r}")
            return body
        if kind in ("list", "tuple") and isinstance(body, list):
            items = [walk(v) for v in body]
            return items if kind == "list" else tuple(items)
        if kind == "dict" and isinstance(body, list):
            out = {}
            for item in body:
                if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))):
                    raise CheckpointError(f"{source}: malformed state entry {str(item)[:60]!r}")
                out[item[0]] = walk(item[1])
            return out
        raise CheckpointError(f"{source}: malformed state description near {str(node)[:60]!r}")

    try:
        return walk(spec)
    except RecursionError:
        raise CheckpointError(f"{source}: the state description is nested too deeply") from None


# ------------------------------------------------------------ checkpoint metadata
def policy_metadata(hidden: list[int], activation: str, env_digest: str, n_banks: int, extra: dict[str, Any]) -> dict[str, Any]:
    """``policy.json`` for an MLP policy over this env's observation and actions; ``extra`` adds
    ``train`` (step, backend, algorithm, seed ...) and ``versions``."""
    return {
        "format": FORMAT,
        "architecture": {"type": "mlp", "hidden": list(hidden), "activation": activation},
        "observation": {"size": N_FEATURES, "features": list(FEATURE_NAMES)},
        "actions": list(ACTIONS),
        "priorities": list(PRIORITIES),
        "env": {"config_digest": env_digest, "n_banks": n_banks},
        **extra,
    }


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def check_metadata(meta: Any, source: str) -> dict[str, Any]:
    """Refuse ``policy.json`` content of the wrong shape, naming the field (never an AttributeError later)."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{source}: not an interbank policy (format should be {FORMAT!r})")
    arch = meta.get("architecture")
    if not isinstance(arch, dict):
        raise CheckpointError(f"{source}: architecture should be an object like {{\"type\": \"mlp\", \"hidden\": [64, 64], \"activation\": \"tanh\"}}, not {json.dumps(arch)[:60]}")
    hidden = arch.get("hidden")
    if arch.get("type") != "mlp" or arch.get("activation") not in ACTIVATIONS:
        raise CheckpointError(f"{source}: unsupported architecture type {str(arch.get('type'))[:30]!r} / activation {str(arch.get('activation'))[:30]!r} (mlp with {' or '.join(ACTIVATIONS)})")
    if not isinstance(hidden, list) or not hidden or not all(_is_int(h) and 1 <= h <= MAX_HIDDEN for h in hidden):
        raise CheckpointError(f"{source}: architecture.hidden should be a non-empty list of layer widths 1..{MAX_HIDDEN}, not {json.dumps(hidden)[:60]}")
    obs = meta.get("observation")
    if not isinstance(obs, dict) or not _is_int(obs.get("size")) or not isinstance(obs.get("features"), list) \
            or not all(isinstance(f, str) for f in obs["features"]):
        raise CheckpointError(f"{source}: observation should be {{\"size\": int, \"features\": [names]}}, not {json.dumps(obs)[:60]}")
    actions = meta.get("actions")
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise CheckpointError(f"{source}: actions should be a list of action names, not {json.dumps(actions)[:60]}")
    for key in ("env", "train", "versions", "files"):
        if key in meta and not isinstance(meta[key], dict):
            raise CheckpointError(f"{source}: {key} should be an object, not {json.dumps(meta[key])[:60]}")
    step = (meta.get("train") or {}).get("step")
    if step is not None and not (_is_int(step) and step >= 0):
        raise CheckpointError(f"{source}: train.step should be a whole number >= 0, not {json.dumps(step)[:40]}")
    files = meta.get("files") or {}
    if not all(isinstance(k, str) and "/" not in k and isinstance(v, str) for k, v in files.items()):
        raise CheckpointError(f"{source}: files should map file names to SHA-256 digests")
    return meta


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read {what}: {err.strerror or err}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{path}: {what} is not valid JSON") from None
    except RecursionError:
        raise CheckpointError(f"{path}: {what} is nested too deeply") from None


def read_metadata(folder: Path) -> dict[str, Any]:
    """``policy.json`` of a checkpoint folder, checked for shape."""
    meta_path = Path(folder) / META
    if not meta_path.is_file():
        raise CheckpointError(f"{folder}: {META} is missing")
    return check_metadata(read_json(meta_path, META), str(meta_path))


def verify_checkpoint(folder: Path, may_lack: Collection[str] = ()) -> dict[str, Any]:
    """The checkpoint's metadata, after checking that every file it lists is there with the
    SHA-256 recorded when it was written (a truncated or swapped file is refused). ``may_lack``:
    listed files that may be absent (``TRAINER_FILES`` for a policy that only plays: a policy
    shared as its policy.json and policy.safetensors); when present they are checked as the others."""
    meta = read_metadata(folder)
    if not (Path(folder) / WEIGHTS).is_file():
        raise CheckpointError(f"{folder}: {WEIGHTS} is missing")
    for name, digest in (meta.get("files") or {}).items():
        path = Path(folder) / name
        if not path.is_file():
            if name in may_lack:
                continue
            raise CheckpointError(f"{folder}: {name} is missing")
        if sha256(path) != digest:
            raise CheckpointError(f"{path}: does not match the SHA-256 recorded in {META} (changed or truncated)")
    return meta


# ------------------------------------------------------------ writing and finding checkpoints
def _safetensors_bytes(tensors: dict[str, np.ndarray]) -> bytes:
    from safetensors.numpy import save

    return save({k: np.ascontiguousarray(v) for k, v in tensors.items()})


def write_checkpoint(
    run_dir: Path, step: int, weights: dict[str, np.ndarray], meta: dict[str, Any],
    trainer_tensors: dict[str, np.ndarray] | None = None, trainer_meta: dict[str, Any] | None = None,
) -> Path:
    """Write ``checkpoints/<step>/`` whole or not at all and return it (an existing one is kept).

    ``weights`` go to policy.safetensors, ``meta`` (see ``policy_metadata``) to policy.json with
    the digests of the other files added under ``files``; ``trainer_tensors``/``trainer_meta``
    (what ``--resume`` needs) to trainer.safetensors/trainer.json."""
    root = Path(run_dir) / CHECKPOINTS
    final = root / str(step)
    if final.is_dir():
        return final
    tmp = root / f".tmp-{step}-{os.getpid()}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        files = {WEIGHTS: _safetensors_bytes(weights)}
        if trainer_meta is not None:
            files[TRAINER_WEIGHTS] = _safetensors_bytes(trainer_tensors or {})
            files[TRAINER_META] = (json.dumps(trainer_meta, indent=2) + "\n").encode()
        digests = {}
        for name, data in files.items():
            write_atomic(tmp / name, data)
            digests[name] = hashlib.sha256(data).hexdigest()
        write_atomic(tmp / META, json.dumps({**meta, "files": digests}, indent=2) + "\n")
        os.replace(tmp, final)
    except WriteError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RunFolderError(f"cannot write checkpoint {step}: {err}") from None
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RunFolderError(f"cannot write checkpoint {step}: {_oserror(final, err)}") from None
    return final


def checkpoint_folders(run_dir: Path) -> list[Path]:
    """``checkpoints/<step>/`` folders, newest (largest step) first."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: -int(p.name))


def newest_checkpoint(run_dir: Path, verified: bool = False) -> Path | None:
    """The newest complete checkpoint of a run (with ``verified``: the newest that passes
    ``verify_checkpoint``), or None."""
    for path in checkpoint_folders(run_dir):
        if not verified:
            if (path / WEIGHTS).is_file() and (path / META).is_file():
                return path
            continue
        try:
            verify_checkpoint(path)
        except CheckpointError:
            continue
        return path
    return None


def resolve_checkpoint(path: str | Path) -> Path:
    """A run folder, a checkpoint folder, or either file of the pair -> the checkpoint folder."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint or run folder")
    if p.is_file():
        if p.name not in (WEIGHTS, META):
            raise CheckpointError(f"{p}: expected {WEIGHTS} or {META} (other files are never loaded)")
        return p.parent
    if (p / WEIGHTS).is_file() or (p / META).is_file():
        return p
    found = newest_checkpoint(p)
    if found is None and p.name == CHECKPOINTS:  # RUN/checkpoints itself: its run's newest
        found = newest_checkpoint(p.parent)
    if found is None:
        raise CheckpointError(f"{p}: no checkpoint found (expected {WEIGHTS} and {META}, or {CHECKPOINTS}/<step>/ inside)")
    return found


def load_tensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if not path.is_file():
        raise CheckpointError(f"{path.parent}: {path.name} is missing")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a valid safetensors file ({str(err).splitlines()[0][:80]})") from None


def read_trainer_state(folder: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(trainer.json, trainer.safetensors' tensors) of a verified checkpoint, for ``--resume``."""
    meta_path = Path(folder) / TRAINER_META
    if not meta_path.is_file():
        raise CheckpointError(f"{folder}: no {TRAINER_META} (a checkpoint from before resumable safe checkpoints; "
                              "start a new run, or export its policy only)")
    state = read_json(meta_path, TRAINER_META)
    if not isinstance(state, dict):
        raise CheckpointError(f"{meta_path}: should be a JSON object")
    return state, load_tensors(Path(folder) / TRAINER_WEIGHTS)


def load_resume_state(folder: Path, backend: str, counters: tuple[str, ...]
                      ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
    """What ``--resume`` needs from a checkpoint of ``backend``, each part checked:
    (policy.json, trainer.json, the trainer's state tree with its ``optimizer``, the policy weights).
    Refuses, in one line, another backend's checkpoint, a trainer state of another format or
    backend, counters that are not whole numbers, and a state without an optimizer."""
    meta = verify_checkpoint(folder)
    found = (meta.get("train") or {}).get("backend", "sb3")
    if found != backend:
        raise CheckpointError(f"{folder}: a {found} checkpoint cannot be resumed by the {backend} backend")
    state, tensors = read_trainer_state(folder)
    source = str(Path(folder) / TRAINER_META)
    if state.get("format") != TRAINER_FORMAT or state.get("backend") != backend:
        raise CheckpointError(f"{source}: not an {backend} trainer state (format {TRAINER_FORMAT!r}, backend {backend})")
    require_int(state, counters, source)
    tree = unflatten_state(tensors, state.get("state"), source)
    if not isinstance(tree, dict) or not isinstance(tree.get("optimizer"), dict):
        raise CheckpointError(f"{source}: the trainer state holds no optimizer state")
    return meta, state, tree, load_tensors(Path(folder) / WEIGHTS)


def require_int(state: dict[str, Any], keys: Iterable[str], source: str) -> None:
    for key in keys:
        if not (_is_int(state.get(key)) and state[key] >= 0):
            raise CheckpointError(f"{source}: {key} should be a whole number >= 0, not {json.dumps(state.get(key))[:40]}")
