"""scikit-image: filters, rank filters, morphology, exposure, restoration, segmentation, measure,
feature and transform, registered as `skimage.<module>.<function>`.

Every public function of these modules is a candidate; the probe keeps those that turn an image
into an image of the same shape. A function exported by two modules (`flood` by morphology and
segmentation, `label` by measure and morphology) is registered once, under the first module of
`MODULES` (the one scikit-image documents it in).
"""

from __future__ import annotations

import importlib
from typing import Any

from .describe import describe_numpy_function, input_kinds
from .source import Source, is_function

MODULES: tuple[str, ...] = ("filters", "filters.rank", "exposure", "restoration", "segmentation",
                            "measure", "morphology", "feature", "transform")


class SkimageSource(Source):
    prefix = "skimage"
    import_name = "skimage"
    distribution = "scikit-image"
    package = "skimage"  # cucim.skimage mirrors this source under another package
    deny = {
        "skimage.measure.moments_coords": "takes a coordinate list; given an image it "
                                          "allocates gigabytes",
        "skimage.measure.moments_coords_central": "takes a coordinate list; given an image it "
                                                  "allocates gigabytes",
        "skimage.transform.hough_ellipse": "seconds even on a tiny image (quadratic in edge "
                                           "pixels); returns ellipse parameters anyway",
        "skimage.filters.try_all_threshold": "draws a matplotlib figure",
    }
    plane_only = {
        "skimage.restoration.rolling_ball": "the default radius=100 makes a 201^3 ball in 3-D: "
                                            "minutes per voxel sweep even on a tiny volume",
        "skimage.restoration.denoise_nl_means": "3-D patches of the default search distance "
                                                "take seconds even on a tiny volume",
    }

    def namespaces(self) -> set[str]:
        groups = super().namespaces()
        for sub in MODULES:
            parts = sub.split(".")
            groups.update(f"{self.prefix}." + ".".join(parts[: i + 1]) for i in range(len(parts)))
        return groups

    def module_name(self, sub: str) -> str:
        return f"{self.package}.{sub}"

    def target(self, name: str) -> tuple[str, str] | None:
        if not self.owns(name):
            return None
        module, _, attr = name.rpartition(".")
        sub = module[len(self.prefix) + 1:]
        if sub not in MODULES or not attr.isidentifier() or attr.startswith("_"):
            return None
        return self.module_name(sub), attr

    def _exports(self, sub: str) -> list[str]:
        module = importlib.import_module(self.module_name(sub))
        names = getattr(module, "__all__", None) or [n for n in dir(module)
                                                      if not n.startswith("_")]
        return sorted(n for n in names if not n.startswith("_"))

    def names(self) -> list[str]:
        return [f"{self.prefix}.{sub}.{attr}" for sub in MODULES for attr in self._exports(sub)]

    def duplicate_of(self, name: str, func: Any) -> str | None:
        """The earlier registered name of the same function object, if any."""
        module, _, attr = name.rpartition(".")
        sub = module[len(self.prefix) + 1:]
        for earlier in MODULES[: MODULES.index(sub)]:
            if attr in self._exports(earlier) and self.resolve_object(
                    f"{self.prefix}.{earlier}.{attr}") is func:
                return f"{self.prefix}.{earlier}.{attr}"
        return None

    def describe(self, name: str) -> tuple[dict[str, Any] | None, str]:
        if name in self.deny:
            return None, f"left out: {self.deny[name]}"
        func = self.resolve_object(name)
        if func is None:
            return None, f"{name} does not exist in this version of {self.import_name}"
        if not is_function(func):
            return None, "not a function"
        same = self.duplicate_of(name, func)
        if same:
            return None, f"the same function as {same}"
        category = self.target(name)[0].removeprefix(self.package + ".")  # type: ignore[index]
        return describe_numpy_function(name, func, category, input_kinds(func),
                                       volume=name not in self.plane_only)
