"""Adapters: repositories that load a policy by id and save it whole."""
