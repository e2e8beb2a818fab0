"""Test helpers: a scriptable HTTP server on 127.0.0.1."""
