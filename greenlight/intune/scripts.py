"""PowerShell that Greenlight ships beside an installer or uses as a detection rule, when a command line is not
enough: uninstall through the Apps & Features (ARP) entry, detect by ARP name and version, MSIX provisioning,
and portable (zip) installs. Values are embedded as single-quoted PowerShell literals (quotes doubled), never
interpolated into code.

Intune runs a detection script and counts the app as installed when it exits 0 AND writes to STDOUT.
"""

from __future__ import annotations

import base64

POWERSHELL = r"%windir%\sysnative\WindowsPowerShell\v1.0\powershell.exe"  # 64-bit PowerShell from the 32-bit IME
UNINSTALL_SCRIPT = "greenlight-uninstall.ps1"
INSTALL_SCRIPT = "greenlight-install.ps1"
MARKER_KEY = r"SOFTWARE\Greenlight\Apps"


def ps_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def run_script(name: str) -> str:
    """The Intune command line that runs a script shipped in the content."""
    return f'{POWERSHELL} -NoProfile -NonInteractive -ExecutionPolicy Bypass -File ".\\{name}"'


def encode(script: str) -> str:
    """Graph's scriptContent: base64 of the UTF-8 script."""
    return base64.b64encode(script.encode("utf-8")).decode("ascii")


def _find_arp(key_name: str | None, display_name: str | None) -> str:
    """PowerShell: $entry = the ARP entry matching the key name, else the display name (both views, HKLM + HKCU)."""
    return f"""
$keyName = {ps_literal(key_name or "")}
$displayName = {ps_literal(display_name or "")}
$roots = @('HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall',
           'HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall',
           'HKCU:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall')
$entry = $null
foreach ($root in $roots) {{
  if (-not (Test-Path $root)) {{ continue }}
  foreach ($key in Get-ChildItem $root) {{
    $p = Get-ItemProperty $key.PSPath
    $byKey = $keyName -and $key.PSChildName -eq $keyName
    $byName = $displayName -and "$($p.DisplayName)" -like "$displayName*"
    if ($byKey -or $byName) {{
      $entry = $p; break
    }}
  }}
  if ($entry) {{ break }}
}}
"""


def arp_detection(key_name: str | None, display_name: str | None, minimum_version: str) -> str:
    return (
        _find_arp(key_name, display_name)
        + f"""
$wanted = {ps_literal(minimum_version)}
if (-not $entry) {{ exit 1 }}
function Get-Version($text) {{ [version]("$text" -replace '[^0-9.].*$','') }}
try {{ $ok = (Get-Version $entry.DisplayVersion) -ge (Get-Version $wanted) }}
catch {{ $ok = "$($entry.DisplayVersion)" -eq $wanted }}
if ($ok) {{ Write-Output "Detected $($entry.DisplayName) $($entry.DisplayVersion)"; exit 0 }}
exit 1
"""
    )


def arp_uninstall(key_name: str | None, display_name: str | None, silent_switches: str) -> str:
    """Runs the entry's QuietUninstallString, else UninstallString plus the installer type's silent switches."""
    return (
        _find_arp(key_name, display_name)
        + f"""
if (-not $entry) {{ Write-Output 'Not installed'; exit 0 }}
$command = if ($entry.QuietUninstallString) {{ "$($entry.QuietUninstallString)" }}
           else {{ "$($entry.UninstallString) " + {ps_literal(silent_switches)} }}
if ($command -match '^\\s*"([^"]+)"\\s*(.*)$') {{ $file = $Matches[1]; $arguments = $Matches[2] }}
elseif ($command -match '^\\s*(\\S+)\\s*(.*)$') {{ $file = $Matches[1]; $arguments = $Matches[2] }}
$process = Start-Process -FilePath $file -ArgumentList $arguments -Wait -PassThru -WindowStyle Hidden
exit $process.ExitCode
"""
    )


def msix_install(file_name: str, machine: bool) -> str:
    if machine:  # provisioned for every user of the device, as SYSTEM
        return (
            f"$package = Join-Path $PSScriptRoot {ps_literal(file_name)}\n"
            "Add-AppxProvisionedPackage -Online -PackagePath $package -SkipLicense | Out-Null\n"
        )
    return f"Add-AppxPackage -Path (Join-Path $PSScriptRoot {ps_literal(file_name)})\n"


def msix_uninstall(package_name: str, machine: bool) -> str:
    if machine:
        return (
            f"Get-AppxProvisionedPackage -Online | Where-Object DisplayName -eq {ps_literal(package_name)} | "
            "Remove-AppxProvisionedPackage -Online -AllUsers | Out-Null\n"
        )
    return f"Get-AppxPackage -Name {ps_literal(package_name)} | Remove-AppxPackage\n"


def msix_detection(package_name: str, minimum_version: str) -> str:
    return f"""
$package = Get-AppxPackage -AllUsers -Name {ps_literal(package_name)} -ErrorAction SilentlyContinue |
  Sort-Object Version -Descending | Select-Object -First 1
if ($package -and [version]$package.Version -ge [version]{ps_literal(minimum_version)}) {{
  Write-Output "Detected $($package.PackageFullName)"; exit 0
}}
exit 1
"""


def portable_install(zip_name: str, package_id: str, version: str, command_dir: str, machine: bool) -> str:
    """Expand the zip under Program Files (or LocalAppData), put the command's folder on PATH, write a marker."""
    base = "$env:ProgramFiles" if machine else "$env:LOCALAPPDATA\\Programs"
    hive = "HKLM" if machine else "HKCU"
    scope = "Machine" if machine else "User"
    return f"""$ErrorActionPreference = 'Stop'
$target = Join-Path "{base}\\Greenlight" {ps_literal(package_id)}
if (Test-Path $target) {{ Remove-Item $target -Recurse -Force }}
Expand-Archive -Path (Join-Path $PSScriptRoot {ps_literal(zip_name)}) -DestinationPath $target -Force
$bin = Join-Path $target {ps_literal(command_dir)}
$path = [Environment]::GetEnvironmentVariable('Path', '{scope}')
if (($path -split ';') -notcontains $bin) {{ [Environment]::SetEnvironmentVariable('Path', "$path;$bin", '{scope}') }}
$marker = '{hive}:\\{MARKER_KEY}\\' + {ps_literal(package_id)}
New-Item -Path $marker -Force | Out-Null
Set-ItemProperty -Path $marker -Name Version -Value {ps_literal(version)}
Set-ItemProperty -Path $marker -Name InstallLocation -Value $target
"""


def portable_uninstall(package_id: str, command_dir: str, machine: bool) -> str:
    base = "$env:ProgramFiles" if machine else "$env:LOCALAPPDATA\\Programs"
    hive = "HKLM" if machine else "HKCU"
    scope = "Machine" if machine else "User"
    return f"""$target = Join-Path "{base}\\Greenlight" {ps_literal(package_id)}
$bin = Join-Path $target {ps_literal(command_dir)}
$path = [Environment]::GetEnvironmentVariable('Path', '{scope}')
$kept = ($path -split ';') | Where-Object {{ $_ -and $_ -ne $bin }}
[Environment]::SetEnvironmentVariable('Path', ($kept -join ';'), '{scope}')
if (Test-Path $target) {{ Remove-Item $target -Recurse -Force }}
Remove-Item -Path ('{hive}:\\{MARKER_KEY}\\' + {ps_literal(package_id)}) -Recurse -Force -ErrorAction SilentlyContinue
exit 0
"""
