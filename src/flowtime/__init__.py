"""FlowTime: a deterministic flow-modelling engine for service systems."""

__version__ = "0.1.0"
