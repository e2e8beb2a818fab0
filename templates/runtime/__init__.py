"""Hand-written runtime modules copied verbatim into generated clients."""
