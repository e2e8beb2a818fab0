"""sdkforge templates."""
