"""Where and how work runs: devices and dtypes, torchrun ranks, progress bars."""
