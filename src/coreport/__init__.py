"""coreport: real-time collaborative reports for machine-learning teams."""

__version__ = "0.1.0"
