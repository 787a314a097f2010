"""Microsoft Graph client: httpx (async) + MSAL tokens, retries with Retry-After, paging, typed errors.

API version: Greenlight calls `/beta` for Intune app management, because the properties it sets on win32LobApp
(`displayVersion`, `allowAvailableUninstall`, `allowedArchitectures`, `maxRunTimeInMinutes`) exist only there —
the same choice WinTuner, IntuneWin32App and Microsoft's own sample make. Groups use `/v1.0`. Both are decided in
`urls.py`, and only there.
"""
