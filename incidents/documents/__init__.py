"""Post-mortems as documents: Markdown, JSON and a zip with the files out, Markdown in.

- export_markdown.postmortem_markdown(incident): GitHub-flavoured Markdown in a stable section
  order close to the seed's, that importer reads back to the same structure.
- export_json.postmortem_json(incident): every field of the incident and its parts, in the
  versioned schema documented in export_json (SCHEMA = "hindsight.postmortem/v1").
- bundle.postmortem_bundle(reference): the export with files, one zip of the Markdown, the JSON
  and every attachment, the Markdown's links made relative to it.
- importer.parse_postmortem(text): a Markdown post-mortem (the seed's layout, Google SRE's,
  PagerDuty's, or Hindsight's own export) read into a Draft with its import report; writing it is
  incidents.documents.services.postmortem_import.
"""
