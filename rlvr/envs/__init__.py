"""Environment families: each module (or small folder) holds its Task(s) and env classes."""
