"""Accounts of the people who run the hotline (operators, knowledge managers, reviewers,
administrators), their login sessions and the audit log. Citizens on the chat stay anonymous."""
