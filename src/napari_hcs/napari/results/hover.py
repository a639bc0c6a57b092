"""Which features hovering an object shows, chosen per session (one viewer's docks share it).

The choice is kept here (no Qt) so that the live result canvas can order the labels layers'
features by it as it builds them: napari's status line shows features in column order and is
cut at the window's width, so the chosen ones come right after `well` and `label`.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

_CHOICES: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def hover_choice(session: Any) -> list[str]:
    return list(_CHOICES.get(session, []))


def set_hover_choice(session: Any, features: Sequence[str]) -> None:
    _CHOICES[session] = list(dict.fromkeys(features))
