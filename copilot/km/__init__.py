"""The knowledge managers' console: the review flow with the four-eyes rule, version diffs,
answer listing, and the gap report of questions the chatbot could not answer."""
