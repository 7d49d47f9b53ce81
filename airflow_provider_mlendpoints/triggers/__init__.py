"""Deferrable triggers: batch jobs and provisioning states (import from the submodules)."""
