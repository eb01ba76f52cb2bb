"""The meaning of content trees: one module per template, readers and builders."""
