"""The question side: find passages (hybrid retrieval, fusion, reranking), write prompts, fit them
into the model's window."""
