"""The built-in processing library: one module per concept (docs/functions.md lists them).

Importing this package registers nothing; `catalog` imports every module that registers
functions, and the registry imports `catalog` (`registry.load_builtin_functions`). The modules
import their helpers (`_torch`, `_shared`, ...) directly, so no module imports this package's
`__init__` for its names and nothing here imports back.
"""
