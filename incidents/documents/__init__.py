"""Post-mortems as documents: Markdown and JSON out, Markdown in.

- export_markdown.postmortem_markdown(incident): GitHub-flavoured Markdown in a stable section
  order close to the seed's, that importer reads back to the same structure.
- export_json.postmortem_json(incident): every field of the incident and its parts, in the
  versioned schema documented in export_json (SCHEMA = "hindsight.postmortem/v1").
- importer.parse_postmortem(text): a Markdown post-mortem (the seed's layout, Google SRE's,
  PagerDuty's, or Hindsight's own export) read into a Draft with its import report; writing it is
  incidents.documents.services.postmortem_import.
"""
