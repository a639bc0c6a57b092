"""Configuration in three levels, global -> pipeline -> step, resolved lazily.

Every field defaults to None, which means "inherit": `resolve` walks step, then pipeline, then
global, and falls back to `DEFAULTS`. `source` says which level supplied the value, so a form
can show an inherited value as a placeholder instead of a hard-coded copy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Annotated, Any, Literal

from annotated_types import Interval

#: Where a resolved value came from.
Source = Literal["step", "pipeline", "global", "default"]

#: The OME-Zarr chunk codecs the writer knows (`vfs.pyramid.COMPRESSIONS`; a test keeps the
#: two equal, since the configuration must not import the writer's zarr).
Compression = Literal["blosc", "blosc-zstd", "blosc-lz4", "zstd", "gzip", "none"]
#: The OME-Zarr versions the writer writes (`vfs.omezarr.VERSIONS`; a test keeps them equal).
OutputFormat = Literal["ngff-0.5", "ngff-0.4"]

#: What each field may hold (None, "inherit", always may). The compiler checks every set value
#: against these (`compiler.validate.validate_config`), the Config dock offers a Literal's
#: choices and a range's bounds; "device" is a pattern the compiler's device phase checks.
FIELD_TYPES: dict[str, Any] = {
    "workers": Annotated[int, Interval(ge=1, le=1024)],
    "device": str,
    "materialize_intermediates": bool,
    "zarr_compression": Compression,
    "zarr_levels": Annotated[int, Interval(ge=1, le=16)],
    "zarr_chunk_size": Annotated[int, Interval(ge=16, le=16384)],
    "output_format": OutputFormat,
}

#: The value of each field when no level sets it.
DEFAULTS: dict[str, Any] = {
    "workers": 1,
    "device": "cpu",
    "materialize_intermediates": False,
    "zarr_compression": "blosc-lz4",  # measured: docs/performance.md ("Writing")
    "zarr_levels": 3,
    "zarr_chunk_size": 1024,
    "output_format": "ngff-0.5",  # measured: docs/performance.md ("Writing")
}

#: What each field means, for tooltips and docs.
DESCRIPTIONS: dict[str, str] = {
    "workers": "number of wells processed in parallel (worker processes)",
    "device": '"cpu", "cuda" or "cuda:N": where torch/cupy functions run',
    "materialize_intermediates": "write every step's output, not only the final one",
    "zarr_compression": 'OME-Zarr chunk compression: "blosc-lz4" (Blosc with lz4 and bit '
                        'shuffle: the fastest to write), "blosc" or "blosc-zstd" (Blosc with '
                        'zstd: smaller files, slower), all read by every zarr reader, Java '
                        'too; "zstd", "gzip" or "none"',
    "zarr_levels": "number of resolution levels in the written OME-Zarr multiscale pyramid",
    "zarr_chunk_size": "OME-Zarr chunk edge length in pixels (Y and X)",
    "output_format": 'plate.zarr\'s format: "ngff-0.5" (zarr v3, sharded: what current '
                     'readers and writers use) or "ngff-0.4" (zarr v2: for older readers)',
}


class _Config:
    """Shared behaviour of the three levels: only the set fields matter."""

    def set_fields(self) -> dict[str, Any]:
        """The fields this level overrides (not None), in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self)  # type: ignore[arg-type]
                if getattr(self, f.name) is not None}

    def merged(self, **changes: Any) -> Any:
        """A copy with `changes` applied (a value of None clears the override)."""
        return replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class _RunConfig(_Config):
    """The fields a whole run can set (shared by the global and pipeline levels)."""

    workers: int | None = None
    device: str | None = None
    materialize_intermediates: bool | None = None
    zarr_compression: str | None = None
    zarr_levels: int | None = None
    zarr_chunk_size: int | None = None
    output_format: str | None = None


@dataclass(frozen=True)
class GlobalConfig(_RunConfig):
    """Application-wide settings (the run's `--workers`, `--device`, output format)."""


@dataclass(frozen=True)
class PipelineConfig(_RunConfig):
    """Settings saved with one pipeline; they override the global ones."""


@dataclass(frozen=True)
class StepConfig(_Config):
    """Settings of one step; only what can differ between steps of one run."""

    device: str | None = None
    materialize_intermediates: bool | None = None
    zarr_compression: str | None = None


CONFIG_FIELDS: tuple[str, ...] = tuple(DEFAULTS)
STEP_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(StepConfig))


def _levels(
    step_config: StepConfig | None,
    pipeline_config: PipelineConfig | None,
    global_config: GlobalConfig | None,
) -> tuple[tuple[Source, Any], ...]:
    return (("step", step_config), ("pipeline", pipeline_config), ("global", global_config))


def resolve_with_source(
    field: str,
    step_config: StepConfig | None = None,
    pipeline_config: PipelineConfig | None = None,
    global_config: GlobalConfig | None = None,
) -> tuple[Any, Source]:
    """The value of `field` from the nearest level that sets it, and that level's name."""
    if field not in DEFAULTS:
        raise KeyError(f"unknown configuration field {field!r}; known: {', '.join(DEFAULTS)}")
    for name, level in _levels(step_config, pipeline_config, global_config):
        value = getattr(level, field, None) if level is not None else None
        if value is not None:
            return value, name
    return DEFAULTS[field], "default"


def resolve(
    field: str,
    step_config: StepConfig | None = None,
    pipeline_config: PipelineConfig | None = None,
    global_config: GlobalConfig | None = None,
) -> Any:
    """The effective value of `field` (step overrides pipeline overrides global)."""
    return resolve_with_source(field, step_config, pipeline_config, global_config)[0]


def source(
    field: str,
    step_config: StepConfig | None = None,
    pipeline_config: PipelineConfig | None = None,
    global_config: GlobalConfig | None = None,
) -> Source:
    """Which level supplies `field`: "step", "pipeline", "global" or "default"."""
    return resolve_with_source(field, step_config, pipeline_config, global_config)[1]


def resolve_all(
    pipeline_config: PipelineConfig | None = None,
    global_config: GlobalConfig | None = None,
    step_config: StepConfig | None = None,
) -> dict[str, Any]:
    """Every field resolved at once (what a run records in `run.json`)."""
    return {f: resolve(f, step_config, pipeline_config, global_config) for f in CONFIG_FIELDS}
