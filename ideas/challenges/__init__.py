"""Challenges, ideas, comments and moderation."""
