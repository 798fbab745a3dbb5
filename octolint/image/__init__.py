"""Reading built images: sources, layers, the merged filesystem, library lookup."""
