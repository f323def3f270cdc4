"""The backend registry is the one source: specs are consistent, config and CLI take its lists, and a
backend is one module (proved with a served-model stand-in dropped into the package's path)."""

from __future__ import annotations

import importlib
import sys
import typing

import numpy as np
import pytest

import engines.runtimes as runtimes
from engines import open_engine
from engines.base import Engine
from engines.runtimes import registry
from engines.runtimes.spec import PRECISIONS, SHARED_FORMATS

ECHO_BACKEND = '''"""A stand-in for a model served over the network: every density map is zero."""

import numpy as np

from engines.runtimes.common import BaseEngine
from engines.runtimes.spec import BackendSpec

SPEC = BackendSpec("echo", __name__, packages=(), extra="echo", formats=("echo",), precisions=("fp32",),
                   schemes=("echo",))


class EchoEngine(BaseEngine):
    backend = "echo"

    def _run(self, batch):
        return np.zeros((len(batch), batch.shape[2] // 8, batch.shape[3] // 8), np.float32)


def open_engine(request):
    return EchoEngine("fp32", request.max_batch, f"{request.reason}; served by {request.model}")
'''


@pytest.mark.parametrize("name", list(registry.BACKENDS))
def test_every_spec_names_its_module_and_what_it_runs(name):
    spec = registry.BACKENDS[name]
    module = importlib.import_module(spec.module)
    assert spec.module == f"engines.runtimes.{name}_backend" and callable(module.open_engine)
    assert set(spec.precisions) <= set(PRECISIONS) - {"auto"}
    assert set(spec.formats) <= {*SHARED_FORMATS, name}
    assert not (spec.suffixes or spec.schemes) or name in spec.formats  # its own format is named after it


def test_auto_order_and_suffixes_come_from_the_specs():
    assert registry.AUTO_ORDER == ("tensorrt", "openvino", "onnxruntime", "torch")
    assert registry.BACKEND_CHOICES == ("auto", *registry.BACKENDS)
    assert dict(registry.SUFFIXES)[".xml"] == "openvino" and dict(registry.SUFFIXES)[".plan"] == "tensorrt"


def test_config_and_cli_offer_exactly_the_registry_lists():
    from monitor.cli import build_parser
    from monitor.config.model import ModelConfig

    assert typing.get_args(ModelConfig.model_fields["backend"].annotation) == registry.BACKEND_CHOICES
    assert typing.get_args(ModelConfig.model_fields["precision"].annotation) == PRECISIONS
    count = build_parser()._subparsers._group_actions[0].choices["count"]
    choices = {action.dest: tuple(action.choices) for action in count._actions if action.choices}
    assert choices["backend"] == registry.BACKEND_CHOICES and choices["precision"] == PRECISIONS


def test_an_unknown_url_scheme_is_refused():
    with pytest.raises(Exception, match="no backend serves 'rtmp://' models"):
        registry.model_format("rtmp://server:1935/csrnet")
    assert registry.model_format("grpc://server:8001/csrnet") == "remote"  # the remote backend's scheme


@pytest.fixture()
def echo_backend(tmp_path, monkeypatch):
    """The package with one more module, ``echo_backend.py``, and the registry read again."""
    (tmp_path / "echo_backend.py").write_text(ECHO_BACKEND)
    monkeypatch.setattr(runtimes, "__path__", [*runtimes.__path__, str(tmp_path)])
    importlib.reload(registry)
    yield
    monkeypatch.undo()
    sys.modules.pop("engines.runtimes.echo_backend", None)
    importlib.reload(registry)


def test_a_new_backend_is_one_module(echo_backend):
    assert "echo" in registry.BACKEND_CHOICES and "echo" not in registry.AUTO_ORDER  # only when named
    assert registry.model_format("echo://server/csrnet") == "echo"
    engine = open_engine("echo://server/csrnet", backend="echo")
    assert isinstance(engine, Engine) and engine.name == "echo-fp32" and "echo://server" in engine.reason
    assert engine.infer(np.zeros((2, 3, 64, 96), np.float32)).shape == (2, 8, 12)
    engine.close()


def test_the_stand_in_is_gone_afterwards():
    assert "echo" not in registry.BACKENDS
