"""datamarket: the buyer's command-line client of the creator-data marketplace."""

__version__ = "0.1.0"
