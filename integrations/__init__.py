"""Integrations: one package per outside system, each with a manifest.yaml."""
