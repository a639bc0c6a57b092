"""The compiler: pipeline + plate + config -> frozen per-well plans, or every problem at once."""

from .compiled import CompiledPipeline, compile_pipeline
from .links import PLATE
from .plan import CallPlan, OutputPlan, StepPlan, WellPlan
from .problems import CompileError, Problem
from .validate import bounds, check_call, type_mismatch

__all__ = [
    "PLATE",
    "CallPlan",
    "CompileError",
    "CompiledPipeline",
    "OutputPlan",
    "Problem",
    "StepPlan",
    "WellPlan",
    "bounds",
    "check_call",
    "compile_pipeline",
    "type_mismatch",
]
