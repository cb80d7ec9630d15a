"""Vietnamese speech: text normalisation, numbers, intent routing, recognition and synthesis."""
