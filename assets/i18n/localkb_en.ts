<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en">
<context>
    <name>ChatView</name>
    <message numerus="yes">
        <location filename="../../app/gui/chat_view.py" line="382"/>
        <source>%n passage(s) left out to fit the model’s context.</source>
        <translation>
            <numerusform>%n passage left out to fit the model’s context.</numerusform>
            <numerusform>%n passages left out to fit the model’s context.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>FoldersPanel</name>
    <message numerus="yes">
        <location filename="../../app/gui/folders_panel.py" line="139"/>
        <source>syncing %n file(s)</source>
        <translation>
            <numerusform>syncing %n file</numerusform>
            <numerusform>syncing %n files</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>LibraryView</name>
    <message numerus="yes">
        <location filename="../../app/gui/library_view.py" line="192"/>
        <source>%n document(s)</source>
        <translation>
            <numerusform>%n document</numerusform>
            <numerusform>%n documents</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/gui/library_view.py" line="317"/>
        <source>Remove %n document(s) from “%1”? The files on disk are not touched.</source>
        <translation>
            <numerusform>Remove %n document from “%1”? The file on disk is not touched.</numerusform>
            <numerusform>Remove %n documents from “%1”? The files on disk are not touched.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message numerus="yes">
        <location filename="../../app/gui/main_window.py" line="224"/>
        <source>%n file(s) it held are gone from disk.</source>
        <translation>
            <numerusform>%n file it held is gone from disk.</numerusform>
            <numerusform>%n files it held are gone from disk.</numerusform>
        </translation>
    </message>
</context>
</TS>
