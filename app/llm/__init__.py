"""The chat model: llama.cpp in process."""
