"""Forms validate input only; the writes happen in incidents.services."""
