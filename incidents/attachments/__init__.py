"""Attachments: files pasted or dropped into an incident's Markdown, stored through Django's
storage API, shown inline when they are raster images and downloaded otherwise."""
