"""The plate view: the raw plate drawn as a plate (wells on the plate grid at their stage
positions, labelled), read lazily as one multiscale layer per channel (`layers`, `loader`,
`tiled_pyramid`), with its geometry (`geometry`), camera moves (`navigation`) and well
colourings (`well_colours`). No Qt widgets here: those are in `docks/`."""
