"""A deliberately slow registered function, so that a test can cancel a run mid-way."""

import time

from napari_hcs import register


@register(memory="numpy", category="testing")
def slow_identity(stack, seconds: float = 0.5):
    """Return the stack unchanged after sleeping."""
    time.sleep(seconds)
    return stack
