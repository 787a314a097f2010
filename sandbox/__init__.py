"""Local stand-ins for Microsoft cloud services, speaking their real protocols over HTTPS.

One server, three sub-applications under path prefixes:
  /entra       Entra ID: OpenID metadata, JWKS, v2.0 token endpoint (sandbox.identity)
  /graph       Microsoft Graph / Intune: win32LobApp upload flow, groups, assignments (sandbox.graph)
  /winget      WinGet CDN: signed source2.msix, versionData, manifests, installers (sandbox.winget_cdn)
Never imported by production code.
"""
