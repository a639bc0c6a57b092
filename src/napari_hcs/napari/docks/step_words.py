"""The step editor's words: what a biologist calls each part of a step, with the engine's term
and what it does in the tooltip (one place, so the dock, its docs and its tests agree)."""

from __future__ import annotations

#: field -> (label shown, tooltip naming the engine's term).
STEP_FIELDS: dict[str, tuple[str, str]] = {
    "name": ("step name", "a name for this step in lists and error messages (empty: the "
                          "function names)"),
    "stack": ("images together", "which images the functions get at once, comma-separated: "
                                 "'site' gives all sites of a well in one call (to stitch "
                                 "them), 'z' a z-stack; empty: one image at a time.\n"
                                 "Engine term: variable components (stack: site)."),
    "group_by": ("different per", "run different functions for each channel (or site, z...): "
                                  "e.g. segment the DAPI channel and leave GFP alone.\n"
                                  "Engine term: group by."),
    "group": ("for", "the channel (or other value) whose functions are listed below; type a "
                     "value and Enter to add one"),
    "chain": ("functions, in order", "the functions this step runs one after the other, each "
                                     "on the previous one's result.\n"
                                     "Engine term: chain (a list of functions)."),
}

#: `different per` when the step runs the same functions on every image.
NO_SPLIT = "(nothing: same for all)"
#: `for` when the step is not split.
ALL_IMAGES = "(all images)"
ADD_STEP = ("Add as new step", "add the chosen function as a new step at the end")
ADD_TO_STEP = ("Add to selected step", "run the chosen function after the selected step's "
                                       "functions, on their result (engine term: chain)")
REMOVE_FUNCTION = "Remove function"
