"""Everything a run leaves behind: the run folder and its files, and the console text."""
