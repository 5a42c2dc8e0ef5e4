"""Votes, their signals, the weighting policy (pure) and rankings."""
