"""The HTML face of incidents, one module per page or flow; each module lists its own URLs."""
