"""Developer tools (packaging for Function Compute). Never deployed."""
