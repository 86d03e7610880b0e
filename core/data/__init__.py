"""Data: label sets and their presets, label-set sampling, and the image data sets the plugins return."""
