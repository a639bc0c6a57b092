"""The Fiji/ImageJ plugin as the package ships it: its jars (built from `fiji/` into the wheel
by `hatch_build.py`) and `install`, which puts them where Fiji loads them."""
