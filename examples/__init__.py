"""Example run configs (data: ``tiny.toml`` for the offline demo, paper presets)."""
