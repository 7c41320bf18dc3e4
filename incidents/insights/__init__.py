"""What the team learns across incidents: the dashboard (what needs attention now) and the incident
list with its filters and search.
"""
