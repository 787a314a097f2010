"""Intune Win32 apps: .intunewin content (build, read, verify), win32LobApp mapping, and the Graph upload flow."""
