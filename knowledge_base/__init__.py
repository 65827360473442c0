"""The stored knowledge: taxonomy, handling units and versioned answer templates (答复口径)."""
