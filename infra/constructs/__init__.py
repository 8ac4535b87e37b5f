"""One construct per concern, each with typed props and the grants it needs (nothing more)."""
