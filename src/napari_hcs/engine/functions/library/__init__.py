"""The built-in processing library; importing it registers every built-in function."""
