"""Greenlight's own checkov checks for the Bicep in infra/bicep (loaded with --external-checks-dir infra/checkov).

checkov has no built-in checks for Azure Bot, role assignments or the Flex Consumption site shape; these cover the
rules docs/reference/azure-deployment.md states for them. checkov silently ignores a checks folder without this file.
"""
