"""Parameter types of the processing library: the number ranges a parameter accepts.

`Annotated[T, annotated_types constraint]`, so the compiler refuses `sigma=-1` before a run
(`compiler/validate.py`) and forms can bound their spin boxes; the functions still check at run
time, for callers that bypass the compiler.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Gt, Interval

PositiveFloat = Annotated[float, Gt(0)]
NonNegativeFloat = Annotated[float, Ge(0)]
PositiveInt = Annotated[int, Ge(1)]
NonNegativeInt = Annotated[int, Ge(0)]
#: A percentile of the intensities, 0..100.
Percentile = Annotated[float, Interval(ge=0, le=100)]
#: A fraction in (0, 1].
Fraction = Annotated[float, Interval(gt=0, le=1)]
#: A correlation coefficient, -1..1.
Correlation = Annotated[float, Interval(ge=-1, le=1)]
