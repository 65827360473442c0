"""Retrieval: lexical and dense search over the hotline knowledge base."""
