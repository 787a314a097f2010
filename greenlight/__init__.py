"""Greenlight's library: the domain and its adapters. Never imports azure.functions or botbuilder."""

__version__ = "0.1.0"
