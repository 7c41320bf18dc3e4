"""Reminder emails: each owner's morning digest of their overdue and soon-due action items, and
the admins' weekly summary of what is stuck. selectors reads what they say and who gets them,
services claims and sends them, emails writes them, tasks are the beat's and the worker's faces.
"""
