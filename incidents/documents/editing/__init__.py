"""Editing the post-mortem as text: one section ("Edit as text"), the whole document ("Edit as
document") or a pasted one ("Paste a post-mortem"), with the change shown before it is applied.

- sectiontext.py, forwardtext.py: a section's rows as text and back (the row lines themselves
  are incidents.documents.rowtext, shared with the export and the import);
- doctext.py: the whole post-mortem as one text, split back into prose and sections;
- paste.py: a document in any layout the importer reads, as this editor's text;
- textdiff.py: the plan: which rows the text adds, changes, moves and removes, matched so a row
  keeps its identity; the signed snapshot of what the editor opened;
- services.py: section_text_apply, the write (or dry run) a page calls;
- textedit.py: applying the plan through the row services; held.py and textresolve.py: rows
  someone else changed meanwhile, held for the editor to choose;
- text_views.py, doc_views.py: the pages.
"""
