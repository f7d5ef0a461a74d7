"""tau2observe's A2A observability sidecar: a transparent reverse proxy that records spans."""

__version__ = "0.1.0"
