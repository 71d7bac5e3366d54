"""The paper's seeds file, shipped as package data (generator.theme.paper_seeds)."""
