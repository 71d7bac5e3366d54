"""The local explorer: tile geometry and rendering (`tiles`), the server (`app`), its page."""
