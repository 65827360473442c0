"""Citizens' personal data: masking for logs, lists and exports, and the retention purge."""
