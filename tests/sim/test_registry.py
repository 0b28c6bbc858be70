"""The extension registry: parameters checked when the scenario is read, one line naming what is wrong."""

from dataclasses import dataclass

import pytest

from interbank.sim.registry import Registry


@dataclass(frozen=True)
class _Params:
    width: float = 1.0
    depth: int = 2


def _registry() -> Registry:
    reg: Registry = Registry("toy model")
    reg.register("toy", object(), _Params)
    reg.register("plain", object())
    return reg


def test_an_unknown_parameter_is_named_with_the_ones_the_extension_takes():
    with pytest.raises(ValueError) as err:
        _registry().own_params("toy", {"widht": 3, "depth": 1})
    message = str(err.value)
    assert message == "params for toy model 'toy': widht not a parameter (it takes width, depth)"
    assert "__init__" not in message and "\n" not in message


def test_known_parameters_build_the_parameter_object():
    assert _registry().own_params("toy", {"width": 3}) == _Params(width=3)


def test_an_extension_without_parameters_refuses_any():
    with pytest.raises(ValueError, match="'plain' takes none"):
        _registry().own_params("plain", {"x": 1})
