"""Refresh of stored needs after layer edits."""
