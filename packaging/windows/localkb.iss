; Inno Setup script for LocalKB on Windows (not built by CI; see packaging/README.md).
; Installs build\dist\LocalKB per user (no administrator rights), with a Start-menu entry and
; "Open with LocalKB" for common document types.  Compile: iscc packaging\windows\localkb.iss
#define AppVersion "0.1.0"

[Setup]
AppId={{6B1F3B0E-9C55-4C3A-9F2B-3F0C0D6E4B21}
AppName=LocalKB
AppVersion={#AppVersion}
AppPublisher=LocalKB
DefaultDirName={localappdata}\Programs\LocalKB
DefaultGroupName=LocalKB
PrivilegesRequired=lowest
OutputDir=..\..\build
OutputBaseFilename=LocalKB-{#AppVersion}-Setup
SetupIconFile=..\localkb.ico
Compression=lzma2/fast
SolidCompression=no
DisableProgramGroupPage=yes
ArchitecturesInstallIn64BitMode=x64compatible

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"
Name: "zh"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[Files]
Source: "..\..\build\dist\LocalKB\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\LocalKB"; Filename: "{app}\localkb.exe"; Parameters: "--gui"
Name: "{userdesktop}\LocalKB"; Filename: "{app}\localkb.exe"; Parameters: "--gui"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; Flags: unchecked

[Registry]
; "Open with LocalKB" adds the file to the current knowledge base (localkb --gui FILE).
Root: HKCU; Subkey: "Software\Classes\Applications\localkb.exe\shell\open\command"; ValueType: string; ValueData: """{app}\localkb.exe"" --gui ""%1"""; Flags: uninsdeletekey

[Run]
Filename: "{app}\localkb.exe"; Parameters: "--gui"; Description: "{cm:LaunchProgram,LocalKB}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Knowledge bases and settings live in %LOCALAPPDATA%\LocalKB and stay unless the user deletes them.
Type: filesandordirs; Name: "{app}"
