"""Ideas: idea challenges open to employees and outsiders."""
