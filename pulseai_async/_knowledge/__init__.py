"""The Knowledge API: datasets, documents, chunks, indexing and their models."""
