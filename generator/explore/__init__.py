"""The local explorer: tile geometry and rendering (`tiles`), the app (`app`), the HTTP server
and its limits (`server`), its page."""
