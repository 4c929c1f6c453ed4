"""The domain: value objects, the aggregate root, its events and errors."""
