"""sdkforge: a schema-first Python SDK generator (OpenAPI in, typed httpx + pydantic client out)."""

__version__ = "0.1.0"

__all__ = ["__version__", "generate"]


def __getattr__(name: str) -> object:
    # ``generate`` pulls in the whole pipeline; keep ``import generator`` cheap.
    if name == "generate":
        from .pipeline import generate

        return generate
    raise AttributeError(name)
