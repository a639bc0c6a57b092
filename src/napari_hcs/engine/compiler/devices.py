"""Phase 4: every function's memory type must be able to run on its step's device, and the
modules a function needs (`FunctionSpec.requires`) must be installed."""

from __future__ import annotations

from ..functions import registry
from ..memory.devices import available_devices, library_installed, memory_supported_on
from .problems import ProblemList
from .resolve import ResolvedStep


def check_devices(
    steps: list[ResolvedStep], problems: ProblemList, *, check_available: bool = True
) -> None:
    """Reject cupy on a CPU step, a missing torch/cupy, and (optionally) an absent GPU.

    numpy functions run on the host whatever the step's device, so they never fail here; a GPU
    that is absent only matters when the step has a function that would use it.
    """
    devices = None
    for rs in steps:
        where = {"step_index": rs.index, "step_name": rs.name}
        needs_device = False
        for chain in rs.groups.values():
            for spec, _ in chain:
                for memory in dict.fromkeys((spec.input_memory, spec.output_memory)):
                    if memory == "numpy":
                        continue
                    needs_device = True
                    if not memory_supported_on(memory, rs.device):
                        problems.add(
                            f"{spec.name} uses {memory} arrays, which need a CUDA device, but "
                            f"the step runs on {rs.device}; set device='cuda' in its config or "
                            "choose a numpy/torch function", parameter="device", **where,
                        )
                    elif not library_installed(memory):
                        problems.add(
                            f"{spec.name} uses {memory} arrays, but {memory} is not installed "
                            f"(pip install napari-hcs[gpu-{memory}])", parameter="func", **where,
                        )
        if needs_device and check_available and rs.device != "cpu":
            devices = devices if devices is not None else available_devices()
            if rs.device not in devices:
                problems.add(
                    f"device {rs.device!r} is not available on this machine "
                    f"(available: {', '.join(devices)})", parameter="device", **where,
                )


def check_requirements(steps: list[ResolvedStep], problems: ProblemList) -> None:
    """A function whose module is missing fails here, once, with the line that installs it,
    instead of in every well. Looks the module up without importing it."""
    for rs in steps:
        missing: dict[str, tuple[str, str]] = {}
        for chain in rs.groups.values():
            for spec, _ in chain:
                for module, extra in spec.requires:
                    if module not in missing and not registry.module_installed(module):
                        missing[module] = (spec.name, extra)
        for module, (name, extra) in missing.items():
            problems.add(registry.missing_module(name, module, extra), parameter="func",
                         step_index=rs.index, step_name=rs.name)

