"""Everything from a file on disk to searchable chunks: loaders, OCR, splitting, embedding,
the vector store, the keyword index and the document catalogue."""
