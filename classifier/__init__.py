"""Rule-based call classifiers: triage (emergency, out of scope), request type, deadlines."""
