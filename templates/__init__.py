"""The built-in gallery theme and Jekyll pages, shipped as package data (generator.theme)."""
