"""Communications: drafting what the team tells people from an incident's facts.

Modules:
    placeholders  the facts a template may name, public or internal, per audience
    facts         an incident's facts as plain values (never model instances)
    sandbox       the template engine, its save-time check, and rendering
    library       the few tags and filters the sandbox allows
    defaults      the templates Hindsight ships
    messages      the email and the signed webhook request made from a sent communication
    admin         their admin pages (incidents/admin.py imports it)

The workflow (generate, edit, approve, send, correct) is in incidents.communications.services;
delivery and the outbox in incidents.communications.delivery.
"""
