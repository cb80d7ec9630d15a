"""Sub-commands of `hotline`; each module is discovered by `hotline.cli`."""
